using Microsoft.Azure.Functions.Worker;
using Serverless.Replicator.Handlers;

namespace Serverless.Functions.Triggers;

/// <summary>
/// Example trigger handler: a queue-triggered function that receives the Lambda DynamoDB events a trigger mapping
/// sends to the queue named by the app setting <c>AuditLogQueue</c>, and appends each change to an audit file.
/// A thrown exception fails the batch: it is retried, then moved to the mapping's on-failure queue.
/// </summary>
public sealed class AuditLog(AuditTrail trail)
{
    [Function(nameof(AuditLog))]
    public Task RunAsync([QueueTrigger("%AuditLogQueue%")] string streamEvent, CancellationToken cancellationToken) =>
        trail.AppendAsync(streamEvent, cancellationToken);
}
