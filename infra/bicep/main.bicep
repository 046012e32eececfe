// One region of the service: storage account, monitoring, an Elastic Premium plan and the function app.
// Deploy once per region; global tables (a later issue) connect regional deployments through their queues.
targetScope = 'resourceGroup'

@description('Short prefix for resource names (letters and digits).')
@minLength(3)
@maxLength(11)
param namePrefix string

@description('Azure region of this deployment.')
param location string = resourceGroup().location

@description('Elastic Premium SKU. The engine keeps its store on the instance, so an always-ready instance matters.')
@allowed([ 'EP1', 'EP2', 'EP3' ])
param planSku string = 'EP1'

@description('Account id reported in table ARNs (12 digits).')
param accountId string = '000000000000'

var suffix = uniqueString(resourceGroup().id, namePrefix)
var storageName = toLower('${namePrefix}${suffix}')
var appName = '${namePrefix}-ddb-${suffix}'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(storageName, 24)
  location: location
  sku: { name: 'Standard_ZRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
    encryption: {
      keySource: 'Microsoft.Storage'
      services: {
        blob: { enabled: true }
        queue: { enabled: true, keyType: 'Account' }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Checkpoints and change-log segments are shipped here (blob durability, a later issue).
resource storeContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'ddb-store'
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-logs-${suffix}'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-ai-${suffix}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${namePrefix}-plan-${suffix}'
  location: location
  sku: { name: planSku, tier: 'ElasticPremium' }
  kind: 'elastic'
  properties: {
    reserved: true // Linux
    maximumElasticWorkerCount: 1
  }
}

var storageConnection = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};EndpointSuffix=${environment().suffixes.storage};AccountKey=${storage.listKeys().keys[0].value}'

resource app 'Microsoft.Web/sites@2023-12-01' = {
  name: appName
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: 'DOTNET-ISOLATED|10.0'
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // One writer per store: the engine owns its data directory, so the app never scales out (see docs/architecture.md).
      functionAppScaleLimit: 1
      minimumElasticInstanceCount: 1
      appSettings: [
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
        { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'dotnet-isolated' }
        { name: 'AzureWebJobsStorage', value: storageConnection }
        { name: 'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING', value: storageConnection }
        { name: 'WEBSITE_CONTENTSHARE', value: toLower(appName) }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        // /home is the app's persistent share: the store survives restarts and redeployments.
        { name: 'Engine__DataDirectory', value: '/home/data/ddb' }
        { name: 'Engine__DefaultRegion', value: location }
        { name: 'Engine__AccountId', value: accountId }
        { name: 'TtlSweepSchedule', value: '*/10 * * * * *' }
        { name: 'CheckpointSchedule', value: '0 */5 * * * *' }
        { name: 'BackupSchedule', value: '0 0 3 * * *' }
        // Triggers: the fan-out runs every second; add Triggers__0__Table, Triggers__0__Queue, … to deliver a stream.
        { name: 'StreamFanOutSchedule', value: '*/1 * * * * *' }
        { name: 'AuditLogQueue', value: 'audit-log' }
      ]
    }
  }
}

output endpoint string = 'https://${app.properties.defaultHostName}'
output functionAppName string = app.name
output storageAccountName string = storage.name
