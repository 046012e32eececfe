using Serverless.Engine.Protocol;

namespace Serverless.Engine.PartiQL;

/// <summary>
/// The messages AWS gives for PartiQL statements it refuses, as ValidationExceptions (docs/partiql.md lists where
/// each string comes from). They all go through <see cref="DynamoErrors.Validation"/>.
/// </summary>
internal static class PqErrors
{
    public const string Envelope = "Statement wasn't well formed, can't be processed: ";
    public const string LeftoverToken = "Unexpected token after expression";
    public const string UnexpectedTerm = "Unexpected term";
    public const string UnexpectedKeyword = "Unexpected keyword";
    public const string UnexpectedOperator = "Unexpected operator";
    public const string MissingRightHandSide = "Missing right-hand side expression of infix operator";
    public const string ExpectedTypeName = "Expected type name";
    public const string ExpectedIdentifier = "Expected identifier for simple path";
    public const string ExpectedDataManipulation = "Expected data manipulation";

    public const string IncompleteKey = "Where clause does not contain a mandatory equality on all key attributes";
    public const string ParameterCount = "Number of parameters in request and statement don't match.";
    public const string Aliasing = "Aliasing is not supported";
    public const string StarAndOthers = "Other attributes should not be present in the projection when '*' is used.";
    public const string FromPathTooLong = "A path may contain at most 2 components in the FROM clause";
    public const string InsertNotTuple = "Unsupported format in item expression. Please use struct format {...} to express item values for insert statement.";
    public const string InsertMultiple = "Unsupported operation: Inserting multiple items in a single statement is not supported, use \"INSERT INTO tableName VALUE item\" instead";
    public const string InsertReturning = "RETURNING is not supported in INSERT";
    public const string ReturningSyntax = "Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause";
    public const string InOperator = "IN operator must have a left hand argument of type Variable Reference and right hand argument of type Seq with at least one member";
    public const string MissingNotWithIs = "MISSING must be compared using IS operator";
    public const string NotBoolean = "WHERE clause must contain an expression that resolves to a boolean";
    public const string EmptyBag = "Empty bags are not supported";
    public const string BagType = "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags";
    public const string BagDuplicates = "Input collection contains duplicates";
    public const string OperationOnIndex = "This operation is not supported on an index";
    public const string ConsistentReadOnGsi = "Strongly consistent read is not supported on Global Secondary Indexes";
    public const string InvalidNextToken = "Invalid NextToken";
    public const string NextTokenMismatch = "NextToken does not match request";
    public const string InvalidTableName = "Table name should be within the length [3, 255] and only contain 'a-z', 'A-Z', '0-9', '-', '_', '.'.";
    public const string OrderByWithoutWhere = "Must have WHERE clause in the statement when using ORDER BY clause.";
    public const string OrderByWithoutHashKey = "Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause.";
    public const string OrderByHashKeyNeeded = "Must have hash key in ORDER BY clause when more than one hash key condition specified in WHERE clause.";
    public const string OverlappingRangeConditions = "Overlapping conditions with range keys are not supported in where clause";
    public const string TransactionReadKey = "Select statements within ExecuteTransaction must specify the primary key in the where clause.";
    public const string TransactionReadIndex = "Reads on indices are not supported within transactions.";
    public const string TransactionExistsKey = "EXISTS() must contain a single item read with additional condition";
    public const string TransactionIndex = "Operations on indices are not supported in transactions";
    public const string TransactionReturning = "RETURNING clause is not supported in ExecuteTransaction.";
    public const string TransactionMixed = "ExecuteTransaction API does not support both read and write operations in the same request.";
    public const string ExistsOutsideTransaction = "EXISTS can only be used in ExecuteTransaction write requests.";

    /// <summary>"Statement wasn't well formed, can't be processed: " and the detail (which may be empty).</summary>
    public static DynamoException Malformed(string detail) => DynamoErrors.Validation(Envelope + detail);

    public static DynamoException Validation(string message) => DynamoErrors.Validation(message);

    public static DynamoException InvalidDeleteReturning(string clause) =>
        DynamoErrors.Validation($"Invalid returning clause: RETURNING {clause}. Only RETURNING ALL OLD * is allowed in DELETE statements.");

    public static DynamoException SchemaKeyMismatch(string key) =>
        DynamoErrors.Validation($"Key attribute's data type should match its data type in table's schema: Key {key}");

    public static DynamoException KeyAbsent(string key) => DynamoErrors.Validation($"Key attribute should be present in the item: Key {key}");

    public static DynamoException UnrecognizedFunction(string name) => DynamoErrors.Validation($"Unrecognized function: {name}");

    public static DynamoException UnsupportedOperation(string what) => DynamoErrors.Validation($"Unsupported operation: {what}");

    public static DynamoException OrderByNotKey(string name) =>
        DynamoErrors.Validation($"Variable reference {name} in ORDER BY clause must be part of the primary key");

    public static DynamoException SetFunctionArgs(string op) => DynamoErrors.Validation($"SET_{op} must have exactly two arguments");

    public static DynamoException SetFunctionFirstArg(string op) => DynamoErrors.Validation($"The first argument to SET_{op} must equal the assignment value");

    public static DynamoException SetFunctionSecondArg(string op) => DynamoErrors.Validation($"The second argument to SET_{op} must be a value with type SET");

    public static DynamoException UnsupportedIsType(string type) => DynamoErrors.Validation(
        $"Unsupported data type for IS operator: {type}. Supported data types are [MISSING, NULL, BOOLEAN, BLOB, STRING, NUMERIC, STRUCT, TUPLE, LIST]");

    public static DynamoException DuplicateTupleKey(string key, string path) => DynamoErrors.Validation($"Duplicate keys in tuple. Key: {key} under {path}");

    /// <summary>A statement of a multi-statement request that failed validation: "Validation failed in TransactStatements[i]: ...".</summary>
    public static DynamoException InStatement(string member, int index, string message) =>
        DynamoErrors.Validation($"Validation failed in {member}[{index}]: {message}");
}
