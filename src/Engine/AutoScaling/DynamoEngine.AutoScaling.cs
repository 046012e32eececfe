using Serverless.Engine.AutoScaling;

namespace Serverless.Engine;

public sealed partial class DynamoEngine
{
    private AutoScaler? _autoScaler;

    /// <summary>Application Auto Scaling's evaluation of this engine's target tracking policies (the AutoScaling timer calls it).</summary>
    public AutoScaler AutoScaler => LazyInitializer.EnsureInitialized(ref _autoScaler, () => new AutoScaler(this));
}
