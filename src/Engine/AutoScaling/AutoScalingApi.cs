using Serverless.Engine.Operations;

namespace Serverless.Engine.AutoScaling;

/// <summary>The Application Auto Scaling API (<c>AnyScaleFrontendService</c>, JSON 1.1), served on the DynamoDB endpoint.</summary>
public static class AutoScalingApi
{
    public static readonly ApiService Service = new("AnyScaleFrontendService.", "application-autoscaling", ApiService.Json11, new Dictionary<string, OperationHandler>
    {
        ["RegisterScalableTarget"] = ScalableTargets.RegisterAsync,
        ["DescribeScalableTargets"] = ScalableTargets.DescribeAsync,
        ["DeregisterScalableTarget"] = ScalableTargets.DeregisterAsync,
        ["PutScalingPolicy"] = ScalingPolicies.PutAsync,
        ["DescribeScalingPolicies"] = ScalingPolicies.DescribeAsync,
        ["DeleteScalingPolicy"] = ScalingPolicies.DeleteAsync,
        ["DescribeScalingActivities"] = ScalingActivities.DescribeAsync,
    });
}
