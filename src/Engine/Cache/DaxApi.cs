using Serverless.Engine.Operations;

namespace Serverless.Engine.Cache;

/// <summary>The DAX control plane (<c>AmazonDAXV3</c>, JSON 1.1), served on the DynamoDB endpoint.</summary>
public static class DaxApi
{
    public static readonly ApiService Service = new("AmazonDAXV3.", "dax", ApiService.Json11, new Dictionary<string, OperationHandler>(StringComparer.Ordinal)
    {
        ["CreateCluster"] = DaxControlPlane.CreateClusterAsync,
        ["DescribeClusters"] = DaxControlPlane.DescribeClustersAsync,
        ["UpdateCluster"] = DaxControlPlane.UpdateClusterAsync,
        ["DeleteCluster"] = DaxControlPlane.DeleteClusterAsync,
        ["CreateParameterGroup"] = DaxControlPlane.CreateParameterGroupAsync,
        ["UpdateParameterGroup"] = DaxControlPlane.UpdateParameterGroupAsync,
        ["DeleteParameterGroup"] = DaxControlPlane.DeleteParameterGroupAsync,
        ["DescribeParameterGroups"] = DaxControlPlane.DescribeParameterGroupsAsync,
        ["DescribeParameters"] = DaxControlPlane.DescribeParametersAsync,
        ["DescribeDefaultParameters"] = DaxControlPlane.DescribeDefaultParametersAsync,
    });
}
