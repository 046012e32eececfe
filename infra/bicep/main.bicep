// One region of the service, locked down: storage account, Key Vault with the access key's secret and the
// encryption master key, monitoring, an Elastic Premium plan and the function app (HTTPS only, TLS 1.2, SigV4 keys).
// Deploy once per region; global tables connect the regional deployments through their replication queues
// (parameters region and peers; README: "Global tables: adding a region").
targetScope = 'resourceGroup'

@description('Short prefix for resource names (a letter, then letters and digits).')
@minLength(3)
@maxLength(11)
param namePrefix string

@description('Azure region of this deployment.')
param location string = resourceGroup().location

@description('Elastic Premium SKU. The engine keeps its working copy on the instance, so an always-ready instance matters.')
@allowed([ 'EP1', 'EP2', 'EP3' ])
param planSku string = 'EP1'

@description('Account id reported in table ARNs and in the admin principal (12 digits).')
param accountId string = '000000000000'

@description('Access key id of the admin key (not a secret). Default: AKIA and 16 characters derived from the resource group and prefix.')
@minLength(16)
@maxLength(128)
param accessKeyId string = 'AKIA${toUpper(take(uniqueString(resourceGroup().id, namePrefix, 'ddb-access-key'), 13))}${toUpper(take(uniqueString(resourceGroup().id, namePrefix, 'ddb-access-key-2'), 3))}'

@secure()
@description('Secret access key of the admin key, e.g. $(openssl rand -base64 30). Stored in Key Vault; pass the same value again on redeployments (README).')
@minLength(20)
param accessKeySecret string

@secure()
@description('Encryption master key: 32 random bytes in base64 (44 characters), e.g. $(openssl rand -base64 32). Stored in Key Vault; a different value makes the stored data unreadable.')
@minLength(44)
@maxLength(44)
param encryptionKey string

@description('The region name DynamoDB clients sign requests for and table ARNs show, e.g. eu-west-1 (global tables name replicas by it). Default: the Azure location.')
param region string = location

@description('Global tables: the other regions\' deployments, each { region: \'us-east-1\', storageAccountName: \'…\', resourceGroup: \'…\' } (the outputs region, storageAccountName of that deployment). Their replication queues are sent to; replicas can be created in those regions.')
param peers array = []

@description('Key Vault purge protection: a deleted vault (and the master key without which the data is unreadable) can be recovered for 90 days and never purged early.')
param keyVaultPurgeProtection bool = true

var suffix = uniqueString(resourceGroup().id, namePrefix)
var storageName = toLower('${namePrefix}${suffix}')
var appName = '${namePrefix}-ddb-${suffix}'
var contentShareName = toLower(take(appName, 63))
var adminPrincipal = 'arn:aws:iam::${accountId}:user/admin'

// The admin key may do everything: every DynamoDB and Streams action, and the local host's admin routes.
var adminPolicy = {
  Version: '2012-10-17'
  Statement: [
    {
      Effect: 'Allow'
      Action: '*'
      Resource: '*'
    }
  ]
}

// Built-in role 'Key Vault Secrets User': read secret values, nothing else.
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(storageName, 24)
  location: location
  sku: { name: 'Standard_ZRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
    allowCrossTenantReplication: false
    encryption: {
      keySource: 'Microsoft.Storage'
      services: {
        blob: { enabled: true }
        file: { enabled: true }
        queue: { enabled: true, keyType: 'Account' }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// The store: checkpoints (snapshots), change-log segments, the manifest, backups and the single-writer lease.
resource storeContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'ddb-store'
  properties: { publicAccess: 'None' }
}

resource fileService 'Microsoft.Storage/storageAccounts/fileServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Global tables: the other regions' deployments send this region's replicas their writes here.
resource replicationQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: 'ddb-replication-${region}'
}

// Global tables: a message too long for a queue message arrives as a blob here, named by a small message in the
// replication queue (the claim check); the app deletes each blob once applied, and hourly those older than a day.
resource payloadContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'ddb-replication-payloads'
  properties: { publicAccess: 'None' }
}

// The app's content share, created here because its connection string is a Key Vault reference (which the
// platform does not resolve when it validates the share at deployment).
resource contentShare 'Microsoft.Storage/storageAccounts/fileServices/shares@2023-05-01' = {
  parent: fileService
  name: contentShareName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: take('${namePrefix}kv${suffix}', 24)
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: keyVaultPurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource accessKeySecretValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'ddb-access-key-secret'
  properties: {
    value: accessKeySecret
    contentType: 'SigV4 secret access key of ${accessKeyId}'
  }
}

resource encryptionKeyValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'ddb-encryption-key'
  properties: {
    value: encryptionKey
    contentType: 'Encryption master key (base64, 32 bytes)'
  }
}

resource storageConnectionValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'ddb-storage-connection'
  properties: {
    value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};EndpointSuffix=${environment().suffixes.storage};AccountKey=${storage.listKeys().keys[0].value}'
    contentType: 'Azure Storage connection string'
  }
}

// Each peer region's storage account, whose replication queue this region sends to.
resource peerStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = [for peer in peers: {
  name: peer.storageAccountName
  scope: resourceGroup(peer.resourceGroup)
}]

// The storage connection string of each peer region, whose replication queue this region sends to. The app
// reads it through app settings GlobalTables__Peers__<region>__Queue and __Connection (a Key Vault reference to
// this secret), which the output peerSettingsCommand adds once the peer is deployed (README: adding a region).
resource peerConnectionValues 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for (peer, i) in peers: {
  parent: vault
  name: 'ddb-peer-${peer.region}'
  properties: {
    value: 'DefaultEndpointsProtocol=https;AccountName=${peer.storageAccountName};EndpointSuffix=${environment().suffixes.storage};AccountKey=${peerStorage[i].listKeys().keys[0].value}'
    contentType: 'Azure Storage connection string of the ${peer.region} deployment (its replication queue)'
  }
}]

var peerSettings = [for peer in peers: 'GlobalTables__Peers__${peer.region}__Queue=ddb-replication-${peer.region} "GlobalTables__Peers__${peer.region}__Connection=@Microsoft.KeyVault(VaultName=${vault.name};SecretName=ddb-peer-${peer.region})"']

// The identity the platform uses to resolve the app's Key Vault references. It is created, and granted the
// role, before the app, so the references resolve on the app's first start.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-id-${suffix}'
  location: location
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, keyVaultSecretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
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

// A Key Vault reference, resolved by the platform with the app's identity; no secret is stored in the app settings.
var storageConnectionReference = '@Microsoft.KeyVault(SecretUri=${storageConnectionValue.properties.secretUri})'

resource app 'Microsoft.Web/sites@2023-12-01' = {
  name: appName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  dependsOn: [ secretsUser, contentShare ]
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      linuxFxVersion: 'DOTNET-ISOLATED|10.0'
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // One writer per store: the blob lease admits one instance, so the app never scales out (see docs/architecture.md).
      functionAppScaleLimit: 1
      minimumElasticInstanceCount: 1
      appSettings: [
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
        { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'dotnet-isolated' }
        // The store lives in blob container ddb-store of this account (the engine uses AzureWebJobsStorage).
        { name: 'AzureWebJobsStorage', value: storageConnectionReference }
        { name: 'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING', value: storageConnectionReference }
        { name: 'WEBSITE_CONTENTSHARE', value: contentShareName }
        { name: 'WEBSITE_SKIP_CONTENTSHARE_VALIDATION', value: '1' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        // Only a cache of the blob container: a fresh instance downloads the store, so it stays on the instance's disk.
        { name: 'Engine__DataDirectory', value: '/tmp/ddb' }
        { name: 'Engine__Blob__Container', value: storeContainer.name }
        { name: 'Engine__DefaultRegion', value: region }
        { name: 'Engine__AccountId', value: accountId }
        // Every request must be signed with this key (SigV4); its policy allows everything.
        { name: 'Auth__Mode', value: 'Verify' }
        { name: 'Auth__Keys__0__AccessKeyId', value: accessKeyId }
        { name: 'Auth__Keys__0__SecretAccessKey', value: '@Microsoft.KeyVault(SecretUri=${accessKeySecretValue.properties.secretUri})' }
        { name: 'Auth__Keys__0__Principal', value: adminPrincipal }
        { name: 'Auth__Keys__0__Policy', value: string(adminPolicy) }
        // Everything the engine persists is encrypted under this master key.
        { name: 'Encryption__Key', value: '@Microsoft.KeyVault(SecretUri=${encryptionKeyValue.properties.secretUri})' }
        { name: 'TtlSweepSchedule', value: '*/10 * * * * *' }
        { name: 'CheckpointSchedule', value: '0 */5 * * * *' }
        { name: 'BackupSchedule', value: '0 0 3 * * *' }
        // Triggers: the fan-out runs every second; add Triggers__0__Table, Triggers__0__Queue, … to deliver a stream.
        { name: 'StreamFanOutSchedule', value: '*/1 * * * * *' }
        { name: 'AutoScalingSchedule', value: '0 * * * * *' }
        // Kinesis destinations: delivery follows the change log every second; retention trims every minute.
        { name: 'KinesisDeliverySchedule', value: '*/1 * * * * *' }
        { name: 'KinesisRetentionSchedule', value: '0 * * * * *' }
        { name: 'AuditLogQueue', value: 'audit-log' }
        // Global tables: this region's replicas receive on its replication queue; the shipping timer runs every second.
        { name: 'GlobalTables__Queue', value: replicationQueue.name }
        { name: 'GlobalTablesSchedule', value: '*/1 * * * * *' }
      ]
    }
  }
}

// No username/password publishing: deploy with an Entra ID login (az functionapp deployment source config-zip).
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'scm'
  properties: { allow: false }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'ftp'
  properties: { allow: false }
}

var endpoint = 'https://${app.properties.defaultHostName}'
var readSecretCommand = 'az keyvault secret show --vault-name ${vault.name} --name ${accessKeySecretValue.name} --query value -o tsv'

@description('The DynamoDB endpoint (https). Pass it as --endpoint-url / endpoint_url as is.')
output endpoint string = endpoint

@description('Region to sign requests for (any region works; this is the one reported in ARNs).')
output region string = region

@description('Access key id of the admin key.')
output accessKeyId string = accessKeyId

@description('Command that prints the admin key\'s secret access key (the secret itself is never an output).')
output readSecretAccessKey string = readSecretCommand

@description('Environment for the AWS CLI and boto3, with the secret read from Key Vault.')
output awsEnvironment string = 'export AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY="$(${readSecretCommand})" AWS_DEFAULT_REGION=${region}'

@description('A first call.')
output tryIt string = 'aws dynamodb list-tables --endpoint-url ${endpoint}'

output functionAppName string = app.name
output storageAccountName string = storage.name

@description('Global tables: this region\'s replication queue, which the other regions\' deployments send to.')
output replicationQueue string = replicationQueue.name

@description('Global tables: the command that points the app at its peers\' replication queues (empty without peers).')
output peerSettingsCommand string = empty(peers) ? '' : 'az functionapp config appsettings set -g ${resourceGroup().name} -n ${app.name} --settings ${join(peerSettings, ' ')}'
output keyVaultName string = vault.name
