using System.Globalization;

namespace Serverless.Engine.Kinesis;

/// <summary>
/// Kinesis sequence numbers, as decimal strings that grow per shard: <c>49</c>, the stream's creation time in
/// milliseconds (13 digits), the shard's index (6 digits) and the record's place in the shard, counted from 1
/// (20 digits) — 41 digits, which sort as numbers and as strings alike. A shard's StartingSequenceNumber has place 0.
/// A sequence number thus names its stream incarnation and its shard, so a foreign one is refused as AWS refuses it.
/// </summary>
public static class SequenceNumbers
{
    public const int Length = 41;

    public static string Format(long streamCreatedMs, int shardIndex, ulong counter) =>
        string.Create(CultureInfo.InvariantCulture, $"49{streamCreatedMs:D13}{shardIndex:D6}{counter:D20}");

    public static bool TryParse(string? text, out long streamCreatedMs, out int shardIndex, out ulong counter)
    {
        streamCreatedMs = 0;
        shardIndex = 0;
        counter = 0;
        if (text is null || text.Length != Length || !text.StartsWith("49", StringComparison.Ordinal)) return false;
        var span = text.AsSpan();
        return long.TryParse(span.Slice(2, 13), NumberStyles.None, CultureInfo.InvariantCulture, out streamCreatedMs)
            && int.TryParse(span.Slice(15, 6), NumberStyles.None, CultureInfo.InvariantCulture, out shardIndex)
            && ulong.TryParse(span.Slice(21, 20), NumberStyles.None, CultureInfo.InvariantCulture, out counter);
    }

    /// <summary>True for text AWS accepts as a sequence number at all: <c>0|([1-9]\d{0,128})</c>.</summary>
    public static bool IsWellFormed(string text) => IsDecimal(text, 129);

    /// <summary>True for a decimal without leading zeros of at most <paramref name="maxDigits"/> digits: <c>0|([1-9]\d{0,max-1})</c>.</summary>
    public static bool IsDecimal(string text, int maxDigits)
    {
        if (text.Length == 0 || text.Length > maxDigits) return false;
        if (text == "0") return true;
        if (text[0] is < '1' or > '9') return false;
        foreach (var c in text)
            if (!char.IsAsciiDigit(c)) return false;
        return true;
    }

    public static string ShardId(int index) => string.Create(CultureInfo.InvariantCulture, $"shardId-{index:D12}");

    public static bool TryParseShardId(string? shardId, out int index)
    {
        index = -1;
        if (shardId is null) return false;
        var digits = shardId.StartsWith("shardId-", StringComparison.Ordinal) ? shardId.AsSpan(8) : shardId.AsSpan();
        return digits.Length is > 0 and <= 12 && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out index);
    }
}
