using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Serverless.Engine.Operations;

namespace Serverless.Engine.Kinesis;

/// <summary>
/// Resharding: SplitShard, MergeShards and UpdateShardCount (UNIFORM_SCALING). A split or merge closes its parents
/// (they stay readable until retention trims them, with an EndingSequenceNumber) and opens children whose
/// ParentShardId and AdjacentParentShardId name them. The change is synchronous: the stream stays ACTIVE.
/// </summary>
internal static partial class KinesisOperations
{
    /// <summary>AWS's default: at most 10,000 shards in a stream through UpdateShardCount.</summary>
    private const int MaxShardsPerStreamScaling = 10_000;

    private const int MaxScalingsPerDay = 10;

    public static ValueTask SplitShardAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var shardId = Req.String(req, "ShardToSplit") ?? throw KinesisErrors.Constraint(null, "shardToSplit", "Member must not be null");
        var key = Req.String(req, "NewStartingHashKey") ?? throw KinesisErrors.Constraint(null, "newStartingHashKey", "Member must not be null");
        if (!SequenceNumbers.IsDecimal(key, 39)) throw KinesisErrors.Constraint(key, "newStartingHashKey", "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})");
        var stream = Resolve(ctx, req);
        var account = ctx.Engine.Options.AccountId;
        var store = ctx.Engine.Kinesis;
        var now = ctx.Engine.Time.GetUtcNow().ToUnixTimeMilliseconds();
        store.Reshard(stream, s =>
        {
            if (s.Definition.Mode == "ON_DEMAND") throw KinesisErrors.ReshardOnDemand("SplitShard");
            var parent = FindShardToReshard(s, shardId, account);
            var split = BigInteger.Parse(key, CultureInfo.InvariantCulture);
            var start = BigInteger.Parse(parent.Definition.StartingHashKey, CultureInfo.InvariantCulture);
            var end = BigInteger.Parse(parent.Definition.EndingHashKey, CultureInfo.InvariantCulture);
            if (split <= start + 1 || split >= end)
                throw KinesisErrors.SplitHashKeyOutOfRange(key, parent.Id, s.Name, account, parent.Definition.StartingHashKey, parent.Definition.EndingHashKey);
            var open = store.OpenShardCount();
            if (open + 1 > store.Options.ShardLimit) throw KinesisErrors.ShardLimit(account, ctx.Region, open, store.Options.ShardLimit, 1);
            var next = s.Shards.Length;
            return ([parent.Index],
            [
                Child(next, start, split - 1, now, parent.Index, null),
                Child(next + 1, split, end, now, parent.Index, null),
            ]);
        }, now);
        w.WriteStartObject();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask MergeShardsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var shardId = Req.String(req, "ShardToMerge") ?? throw KinesisErrors.Constraint(null, "shardToMerge", "Member must not be null");
        var adjacentId = Req.String(req, "AdjacentShardToMerge") ?? throw KinesisErrors.Constraint(null, "adjacentShardToMerge", "Member must not be null");
        var stream = Resolve(ctx, req);
        var account = ctx.Engine.Options.AccountId;
        var now = ctx.Engine.Time.GetUtcNow().ToUnixTimeMilliseconds();
        ctx.Engine.Kinesis.Reshard(stream, s =>
        {
            if (s.Definition.Mode == "ON_DEMAND") throw KinesisErrors.ReshardOnDemand("MergeShards");
            var shard = FindShardToReshard(s, shardId, account);
            var adjacent = FindShardToReshard(s, adjacentId, account);
            if (shard.EndingHashKey == UInt128.MaxValue || shard.EndingHashKey + 1 != adjacent.StartingHashKey)
                throw KinesisErrors.ShardsNotAdjacent(shard.Id, adjacent.Id, s.Name, account);
            var start = BigInteger.Parse(shard.Definition.StartingHashKey, CultureInfo.InvariantCulture);
            var end = BigInteger.Parse(adjacent.Definition.EndingHashKey, CultureInfo.InvariantCulture);
            return ([shard.Index, adjacent.Index], [Child(s.Shards.Length, start, end, now, shard.Index, adjacent.Index)]);
        }, now);
        w.WriteStartObject();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask UpdateShardCountAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var target = Req.Long(req, "TargetShardCount", "Integer") ?? throw KinesisErrors.Constraint(null, "targetShardCount", "Member must not be null");
        if (target < 1) throw KinesisErrors.Constraint(target.ToString(CultureInfo.InvariantCulture), "targetShardCount", "Member must have value greater than or equal to 1");
        if (target > 1_000_000) throw KinesisErrors.Constraint(target.ToString(CultureInfo.InvariantCulture), "targetShardCount", "Member must have value less than or equal to 1000000");
        var scaling = Req.String(req, "ScalingType") ?? throw KinesisErrors.Constraint(null, "scalingType", "Member must not be null");
        if (scaling != "UNIFORM_SCALING") throw KinesisErrors.Constraint(scaling, "scalingType", "Member must satisfy enum value set: [UNIFORM_SCALING]");
        var stream = Resolve(ctx, req);
        var account = ctx.Engine.Options.AccountId;
        var store = ctx.Engine.Kinesis;
        var now = ctx.Engine.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var count = (int)target;
        var current = 0;
        store.Reshard(stream, s =>
        {
            var d = s.Definition;
            if (d.Mode == "ON_DEMAND") throw KinesisErrors.ReshardOnDemand("UpdateShardCount");
            var open = s.OpenShards;
            current = open.Length;
            if (count > current * 2) throw KinesisErrors.ScaleBeyondDouble(count, current);
            if (count * 2 < current) throw KinesisErrors.ScaleBelowHalf(count, current);
            if (count > MaxShardsPerStreamScaling) throw KinesisErrors.ScaleBeyondStreamLimit(count, MaxShardsPerStreamScaling);
            var recent = new List<long>();
            foreach (var t in d.ShardCountUpdates ?? []) if (t > now - 86_400_000) recent.Add(t);
            if (recent.Count >= MaxScalingsPerDay) throw KinesisErrors.ScaleRateExceeded(s.Name, account);
            var all = store.OpenShardCount();
            if (all - current + count > store.Options.ShardLimit) throw KinesisErrors.ShardLimit(account, ctx.Region, all, store.Options.ShardLimit, Math.Max(0, count - current));
            recent.Add(now);
            d.ShardCountUpdates = recent;
            return PlanUniform(open, count, s.Shards.Length, now);
        }, now);
        w.WriteStartObject();
        w.WriteString("StreamName"u8, stream.Name);
        w.WriteNumber("CurrentShardCount"u8, current);
        w.WriteNumber("TargetShardCount"u8, count);
        w.WriteString("StreamARN"u8, stream.Definition.Arn);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The splits and merges that turn the open shards into <paramref name="count"/> equal ones. Each open shard is cut
    /// at every new boundary inside it (children with it as parent); the pieces of each new shard are then merged left
    /// to right (each merge with two parents). Pieces that are merged away at once are created closed: AWS's
    /// "short-lived shards". A shard that already has a new shard's exact range stays open, untouched.
    /// </summary>
    internal static (List<int> Closing, List<ShardDefinition> Children) PlanUniform(Shard[] open, int count, int nextIndex, long nowMs)
    {
        var starts = ShardDefinition.UniformStarts(count);
        var max = (BigInteger.One << 128) - 1;
        var closing = new List<int>();
        var children = new List<ShardDefinition>();
        var pieces = new List<(BigInteger Start, BigInteger End, int Index, bool Fresh)>();
        foreach (var shard in open)
        {
            var start = BigInteger.Parse(shard.Definition.StartingHashKey, CultureInfo.InvariantCulture);
            var end = BigInteger.Parse(shard.Definition.EndingHashKey, CultureInfo.InvariantCulture);
            var cuts = new List<BigInteger>();
            foreach (var t in starts)
                if (t > start && t <= end) cuts.Add(t);
            if (cuts.Count == 0)
            {
                pieces.Add((start, end, shard.Index, false));
                continue;
            }

            closing.Add(shard.Index);
            var from = start;
            cuts.Add(end + 1);
            foreach (var cut in cuts)
            {
                children.Add(Child(nextIndex, from, cut - 1, nowMs, shard.Index, null));
                pieces.Add((from, cut - 1, nextIndex++, true));
                from = cut;
            }
        }

        var p = 0;
        for (var i = 0; i < count; i++)
        {
            var targetEnd = i + 1 < count ? starts[i + 1] - 1 : max;
            var group = new List<(BigInteger Start, BigInteger End, int Index, bool Fresh)>();
            while (p < pieces.Count && pieces[p].End <= targetEnd) group.Add(pieces[p++]);
            if (group.Count == 1) continue; // an untouched shard or a fresh piece: already the new shard
            var acc = group[0];
            for (var j = 1; j < group.Count; j++)
            {
                CloseForMerge(acc, closing, children, nowMs);
                CloseForMerge(group[j], closing, children, nowMs);
                children.Add(Child(nextIndex, acc.Start, group[j].End, nowMs, acc.Index, group[j].Index));
                acc = (acc.Start, group[j].End, nextIndex++, true);
            }
        }

        return (closing, children);
    }

    private static void CloseForMerge((BigInteger Start, BigInteger End, int Index, bool Fresh) piece, List<int> closing, List<ShardDefinition> children, long nowMs)
    {
        if (!piece.Fresh)
        {
            closing.Add(piece.Index);
            return;
        }

        for (var k = 0; k < children.Count; k++)
            if (children[k].Index == piece.Index) children[k] = children[k] with { ClosedMs = nowMs };
    }

    private static ShardDefinition Child(int index, BigInteger start, BigInteger end, long nowMs, int parent, int? adjacent) => new()
    {
        Index = index,
        StartingHashKey = start.ToString(CultureInfo.InvariantCulture),
        EndingHashKey = end.ToString(CultureInfo.InvariantCulture),
        ParentIndex = parent,
        AdjacentParentIndex = adjacent,
        CreatedMs = nowMs,
    };

    /// <summary>The open shard a SplitShard or MergeShards names, or AWS's not-found and not-eligible errors.</summary>
    private static Shard FindShardToReshard(KinesisStream stream, string shardId, string account)
    {
        var shards = stream.Shards;
        if (!SequenceNumbers.TryParseShardId(shardId, out var index) || index >= shards.Length)
            throw KinesisErrors.CouldNotFindShard(index >= 0 && index < 1_000_000_000 ? SequenceNumbers.ShardId(index) : shardId, stream.Name, account);
        var shard = shards[index];
        if (shard.IsClosed) throw KinesisErrors.ShardNotEligible(shard.Id, stream.Name, account);
        return shard;
    }
}
