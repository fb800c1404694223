import AssetInventory
import ProjectionKit

/// `iomt-asset-inventory`: the asset-inventory projection worker (`run` or `rebuild`).
@main
enum AssetInventoryMain {
    static func main() async {
        await ProjectionWorker.main(AssetInventoryProjection())
    }
}
