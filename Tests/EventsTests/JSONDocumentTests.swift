import Events
import Testing

@Suite("JSON parsing")
struct JSONDocumentTests {
    @Test("strings with escapes, numbers and nesting decode exactly")
    func decodesValues() throws {
        let json = #"{"a":"x\"y\\z\u00e9\ud83d\ude00","n":[-0.5,1e3,12345678901234567890,0.1,35.05],"t":true,"z":null}"#
        try JSONDocument().parse(Array(json.utf8)) { root in
            #expect(root["a"]?.string == "x\"y\\zé😀")
            var numbers: [Double] = []
            root["n"]?.forEachElement { _, element in numbers.append(element.number!) }
            #expect(numbers == [-0.5, 1000, 1.2345678901234567e19, 0.1, 35.05])
            #expect(root["t"]?.bool == true)
            #expect(root["z"]?.isNull == true)
            #expect(root["missing"] == nil)
        }
    }

    @Test("a document larger than the initial token storage reads back every value, and the document is reusable")
    func largeDocument() throws {
        let document = JSONDocument()
        for round in 0..<2 {
            let json = "[" + (0..<5000).map { #"{"n":\#($0 + round),"s":"v\#($0)"}"# }.joined(separator: ",") + "]"
            try document.parse(Array(json.utf8)) { root in
                var sum = 0.0
                root.forEachElement { _, element in sum += element["n"]!.number! }
                #expect(root.count == 5000)
                #expect(sum == Double((0..<5000).reduce(0, +) + 5000 * round))
            }
        }
    }

    @Test("strings that are not valid UTF-8 are refused", arguments: [[0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82]])
    func invalidUTF8(bytes: [UInt8]) throws {
        let json = [UInt8(ascii: "\"")] + bytes + [UInt8(ascii: "\"")]
        try JSONDocument().parse(json) { root in
            #expect(root.kind == .string)
            #expect(root.string == nil)
        }
        try JSONDocument().parse(Array(#""héllo ✓ 😀""#.utf8)) { root in #expect(root.string == "héllo ✓ 😀") }
    }

    @Test("malformed texts are refused with an offset", arguments: [
        "", "{", "{\"a\"}", "{\"a\":1,}", "[1 2]", "\"abc", "01", "1.", "-", "{\"a\":tru}", "[1]x", "\"a\u{01}\"", "\"\\x\"", "[\"\\ud800\"]x",
    ])
    func malformed(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONDocument().parse(Array(text.utf8)) { _ in } }
    }

    @Test("nesting deeper than 64 levels is refused")
    func depthLimit() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONSyntaxError.self) { try JSONDocument().parse(Array(deep.utf8)) { _ in } }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONDocument().parse(Array(fine.utf8)) { _ in } }
    }

    @Test("the writer escapes strings and writes integral numbers without a fraction")
    func writer() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("s", "a\"b\n\u{01}")
        writer.member("i", 72.0)
        writer.member("f", 36.6)
        writer.key("arr")
        writer.beginArray()
        writer.integer(1)
        writer.bool(false)
        writer.endArray()
        writer.endObject()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"s":"a\"b\n\u0001","i":72,"f":36.6,"arr":[1,false]}"#)
    }
}
