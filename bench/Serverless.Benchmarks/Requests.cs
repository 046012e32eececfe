using System.Text;

namespace Serverless.Benchmarks;

/// <summary>Request bodies, built once in setup so the measured loop only sends them.</summary>
internal static class Requests
{
    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    public static string Key(int i) => "k" + i.ToString("D7", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A deterministic printable string of <paramref name="length"/> characters.</summary>
    public static string Value(int length, int seed)
    {
        var chars = new char[length];
        var r = new Random(seed);
        for (var i = 0; i < length; i++) chars[i] = (char)('a' + r.Next(26));
        return new string(chars);
    }

    public static byte[] CreateHashTable(string table) => Utf8(
        $$$$"""{"TableName":"{{{{table}}}}","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}""");

    public static byte[] CreateRangeTable(string table) => Utf8(
        $$$$"""{"TableName":"{{{{table}}}}","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}""");

    /// <summary>A PutItem of an item of about 200 bytes: key, a 160-byte string and a number.</summary>
    public static byte[] PutItem(string table, int i, string value) => Utf8(
        $$$$"""{"TableName":"{{{{table}}}}","Item":{"pk":{"S":"{{{{Key(i)}}}}"},"val":{"S":"{{{{value}}}}"},"n":{"N":"{{{{i}}}}"}}}""");

    /// <summary>An UpdateItem that SETs a number and a string from ExpressionAttributeValues, returning nothing.</summary>
    public static byte[] UpdateItem(string table, int i, int n) => Utf8(
        $$$$"""{"TableName":"{{{{table}}}}","Key":{"pk":{"S":"{{{{Key(i)}}}}"}},"UpdateExpression":"SET n = :n, tag = :t","ExpressionAttributeValues":{":n":{"N":"{{{{n}}}}"},":t":{"S":"updated"}}}""");

    /// <summary>A response body as text (setup checks).</summary>
    public static string Text(ReadOnlyMemory<byte> body) => Encoding.UTF8.GetString(body.Span);

    public static byte[] GetItem(string table, int i) => Utf8($$$$"""{"TableName":"{{{{table}}}}","Key":{"pk":{"S":"{{{{Key(i)}}}}"}}}""");

    /// <summary>BatchWriteItem of items <paramref name="from"/>..+25 of a hash+range table (<paramref name="perPartition"/> per partition).</summary>
    public static byte[] BatchPutRange(string table, int from, int count, int perPartition, string value)
    {
        var sb = new StringBuilder();
        sb.Append("{\"RequestItems\":{\"").Append(table).Append("\":[");
        for (var i = from; i < from + count; i++)
        {
            if (i > from) sb.Append(',');
            sb.Append("{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"p").Append((i / perPartition).ToString("D6", System.Globalization.CultureInfo.InvariantCulture))
                .Append("\"},\"sk\":{\"S\":\"s").Append((i % perPartition).ToString("D4", System.Globalization.CultureInfo.InvariantCulture))
                .Append("\"},\"val\":{\"S\":\"").Append(value).Append("\"}}}}");
        }

        sb.Append("]}}");
        return Utf8(sb.ToString());
    }

    public static byte[] Query(string table, int partition, int limit) => Utf8(
        $$$$"""{"TableName":"{{{{table}}}}","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"p{{{{partition.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)}}}}"}},"Limit":{{{{limit}}}}}""");
}
