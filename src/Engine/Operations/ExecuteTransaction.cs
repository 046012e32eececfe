using System.Buffers;
using System.Text.Json;
using Serverless.Engine.PartiQL;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Operations;

/// <summary>
/// ExecuteTransaction: up to 100 PartiQL statements, all reads or all writes, run as one TransactGetItems or one
/// TransactWriteItems, so they share that machinery: atomic commit, ClientRequestToken idempotency and
/// TransactionCanceledException with one reason per statement (an INSERT of an existing key: DuplicateItem).
/// </summary>
internal static class ExecuteTransaction
{
    private const string Member = "TransactStatements";

    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var list = Req.List(req, "TransactStatements");
        var token = Req.String(req, "ClientRequestToken");
        var errors = new ConstraintErrors();
        var returnCapacity = Req.String(req, "ReturnConsumedCapacity");
        errors.Enum("returnConsumedCapacity", returnCapacity, "INDEXES, TOTAL, NONE", "INDEXES", "TOTAL", "NONE");
        if (token is { Length: > TransactWriteItems.MaxTokenLength }) errors.Add("clientRequestToken", token, "Member must have length less than or equal to 36");
        if (token is { Length: 0 }) errors.Add("clientRequestToken", token, "Member must have length greater than or equal to 1");
        if (list is not { } statements) errors.NotNull("transactStatements", null);
        else
        {
            var count = statements.GetArrayLength();
            if (count == 0) errors.Add("transactStatements", "[]", "Member must have length greater than or equal to 1");
            if (count > TransactWriteItems.MaxActions) errors.Add("transactStatements", statements.GetRawText(), "Member must have length less than or equal to 100");
            var i = 0;
            foreach (var member in statements.EnumerateArray())
            {
                i++;
                var (text, parameters) = ExecuteStatement.ReadMember(member, "ParameterizedStatement");
                ExecuteStatement.CheckStatement(errors, $"transactStatements.{i}.member.statement", text, parameters, $"transactStatements.{i}.member.parameters");
            }
        }

        errors.ThrowIfAny();

        var compiled = new List<(PqStatement Statement, PqWritePlan? Write, PqGetPlan? Read)>();
        bool anyRead = false, anyWrite = false;
        var index = 0;
        foreach (var member in list!.Value.EnumerateArray())
        {
            try
            {
                var statement = PqParser.Parse(Req.String(member, "Statement")!);
                if (statement.IsRead) anyRead = true;
                else anyWrite = true;
                if (anyRead && anyWrite) throw PqErrors.Validation(PqErrors.TransactionMixed);
                if (statement.Returning != PqReturning.None) throw PqErrors.Validation(PqErrors.TransactionReturning);
                var parameters = PqValues.ReadParameters(Req.List(member, "Parameters"));
                var table = PqPlanner.Prepare(ctx, statement, parameters);
                if (statement.IsRead)
                {
                    if (statement.Index != null) throw PqErrors.Validation(PqErrors.TransactionReadIndex);
                    var read = PqPlanner.PlanGet(statement, table, parameters) ?? throw PqErrors.Validation(PqErrors.TransactionReadKey);
                    compiled.Add((statement, null, read));
                }
                else
                {
                    if (statement.Index != null) throw PqErrors.Validation(PqErrors.TransactionIndex);
                    compiled.Add((statement, PqPlanner.PlanWrite(statement, table, parameters), null));
                }
            }
            catch (DynamoException e) when (e.ErrorType == "ValidationException" && e.Message != PqErrors.TransactionMixed)
            {
                throw PqErrors.InStatement(Member, index, e.Message);
            }

            index++;
        }

        if (anyRead) await ReadAsync(ctx, compiled, returnCapacity, w).ConfigureAwait(false);
        else await WriteAsync(ctx, compiled, token, returnCapacity, w).ConfigureAwait(false);
    }

    private static async ValueTask ReadAsync(OperationContext ctx, List<(PqStatement Statement, PqWritePlan? Write, PqGetPlan? Read)> compiled,
        string? returnCapacity, Utf8JsonWriter w)
    {
        using var response = await PqRunner.RunAsync(ctx, TransactGetItems.ExecuteAsync, rw =>
        {
            rw.WriteStartObject();
            rw.WriteStartArray("TransactItems"u8);
            foreach (var c in compiled)
            {
                rw.WriteStartObject();
                rw.WriteStartObject("Get"u8);
                c.Read!.WriteMembers(rw);
                rw.WriteEndObject();
                rw.WriteEndObject();
            }

            rw.WriteEndArray();
            if (returnCapacity != null) rw.WriteString("ReturnConsumedCapacity"u8, returnCapacity);
            rw.WriteEndObject();
        }).ConfigureAwait(false);

        var root = response.RootElement;
        w.WriteStartObject();
        w.WriteStartArray("Responses"u8);
        var i = 0;
        foreach (var r in root.GetProperty("Responses"u8).EnumerateArray())
        {
            w.WriteStartObject();
            ExecuteStatement.WriteReadItem(w, r, compiled[i++].Read!);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (root.TryGetProperty("ConsumedCapacity"u8, out var cc))
        {
            w.WritePropertyName("ConsumedCapacity"u8);
            cc.WriteTo(w);
        }

        w.WriteEndObject();
    }

    private static async ValueTask WriteAsync(OperationContext ctx, List<(PqStatement Statement, PqWritePlan? Write, PqGetPlan? Read)> compiled,
        string? token, string? returnCapacity, Utf8JsonWriter w)
    {
        JsonDocument response;
        try
        {
            response = await PqRunner.RunAsync(ctx, TransactWriteItems.ExecuteAsync, rw =>
            {
                rw.WriteStartObject();
                rw.WriteStartArray("TransactItems"u8);
                foreach (var c in compiled)
                {
                    var plan = c.Write!;
                    rw.WriteStartObject();
                    rw.WriteStartObject(plan.Kind switch
                    {
                        PqKind.Insert => "Put",
                        PqKind.Update => "Update",
                        PqKind.Delete => "Delete",
                        _ => "ConditionCheck",
                    });
                    plan.WriteMembers(rw, transaction: true, null);
                    rw.WriteEndObject();
                    rw.WriteEndObject();
                }

                rw.WriteEndArray();
                if (token != null) rw.WriteString("ClientRequestToken"u8, token);
                if (returnCapacity != null) rw.WriteString("ReturnConsumedCapacity"u8, returnCapacity);
                rw.WriteEndObject();
            }).ConfigureAwait(false);
        }
        catch (DynamoException e) when (e.ErrorType == "TransactionCanceledException")
        {
            throw Remap(e, compiled);
        }

        using (response)
        {
            w.WriteStartObject();
            if (response.RootElement.TryGetProperty("ConsumedCapacity"u8, out var cc))
            {
                w.WritePropertyName("ConsumedCapacity"u8);
                cc.WriteTo(w);
            }

            w.WriteEndObject();
        }
    }

    /// <summary>The cancellation with the INSERTs' failed conditions reported as DuplicateItem, as AWS reports them.</summary>
    private static DynamoException Remap(DynamoException e, List<(PqStatement Statement, PqWritePlan? Write, PqGetPlan? Read)> compiled)
    {
        if (e.WriteExtraMembers is not { } writeMembers) return e;
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var bw = new Utf8JsonWriter(buffer))
        {
            bw.WriteStartObject();
            writeMembers(bw);
            bw.WriteEndObject();
        }

        using var doc = JsonDocument.Parse(buffer.WrittenMemory, PqRunner.DocumentOptions);
        var reasons = new List<CancellationReason>();
        var i = 0;
        foreach (var r in doc.RootElement.GetProperty("CancellationReasons"u8).EnumerateArray())
        {
            var code = r.GetProperty("Code"u8).GetString()!;
            var message = r.TryGetProperty("Message"u8, out var m) ? m.GetString() : null;
            Action<Utf8JsonWriter>? writeItem = null;
            if (r.TryGetProperty("Item"u8, out var item))
            {
                var copy = item.Clone();
                writeItem = iw =>
                {
                    iw.WritePropertyName("Item"u8);
                    copy.WriteTo(iw);
                };
            }

            reasons.Add(code == "ConditionalCheckFailed" && i < compiled.Count && compiled[i].Statement.Kind == PqKind.Insert
                ? CancellationReason.DuplicateItem
                : new CancellationReason(code, message, writeItem));
            i++;
        }

        return DynamoErrors.TransactionCanceled(reasons);
    }
}
