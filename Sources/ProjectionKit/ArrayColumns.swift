import Events

/// Conventions for writing a batch's rows as binary arrays expanded with
/// `unnest`, which PostgreSQL reads without parsing JSON (unlike ``BulkRows``).
///
/// PostgresNIO binds no arrays of optionals, so an absent value travels as a
/// sentinel the statement turns back into NULL: an empty string
/// (`nullif(column, '')`; events carry no empty strings), NaN for a double
/// (`nullif(column, 'NaN')`), and ``noTime`` for a time (``timestamp(_:)``).
public enum ArrayColumns {
    /// An absent time in an `int8[]` of microseconds since the epoch.
    public static let noTime = Int64.min

    /// `time` in microseconds since the epoch, or ``noTime``.
    public static func microseconds(_ time: EventTime?) -> Int64 {
        time?.microseconds ?? noTime
    }

    /// SQL reading `column` (microseconds since the epoch, or ``noTime``) as a
    /// `timestamptz`, NULL for ``noTime``.
    public static func timestamp(_ column: String) -> String {
        "timestamptz 'epoch' + nullif(\(column), '\(noTime)'::int8) * interval '1 microsecond'"
    }
}
