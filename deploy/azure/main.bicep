// kambot on Azure: the bot as a container on Azure Container Apps with a user-assigned managed identity
// (the bot's identity, and the proof with which the tabs' app registration calls Graph: no client secret
// anywhere), Azure Bot with the Teams channel, Azure Database for PostgreSQL flexible server, Key Vault for
// the database URL, Log Analytics and Application Insights. Deploy into a resource group:
//   az deployment group create -g <group> -f deploy/azure/main.bicep -p deploy/azure/main.bicepparam \
//     -p postgresAdminPassword=<generated>
// docs/admin.md walks through it, with the app registration for the tabs' single sign-on and its federated
// credential trusting the identity (an Entra change this template does not make: see there why).

targetScope = 'resourceGroup'

@description('Prefix of every resource name: lower-case letters and digits, 3 to 12 characters.')
@minLength(3)
@maxLength(12)
param namePrefix string = 'kambot'

@description('Region of the resources (Azure Bot itself is global).')
param location string = resourceGroup().location

@description('The kambot container image, e.g. contosoacr.azurecr.io/kambot:1.4.0.')
param containerImage string

@description('Registry server of the image when it needs credentials (an Azure Container Registry the identity may pull from); empty for a public image.')
param registryServer string = ''

@description('Entra tenant id of the company: the only tenant kambot answers.')
param tenantId string = subscription().tenantId

@description('Client id of the app registration the tabs sign in with (Teams SSO, webApplicationInfo in the app package); kambot calls Graph as this app.')
param tabSsoClientId string

@description('Group ids of the team(s) holding the key account channels, comma-separated (empty until provisioning is set up).')
param kamTeamIds string = ''

@description('kambot\'s id in the tenant\'s app catalog (printed by `kambot publish`); empty before the first upload.')
param teamsAppId string = ''

@description('After-meeting nudges (needs Calendars.ReadBasic.All granted to the tabs\' app registration).')
param meetingNudges bool = false

@description('Administrator login of the PostgreSQL server.')
param postgresAdminLogin string = 'kambotadmin'

@description('Administrator password of the PostgreSQL server: pass it at deployment, never in a file.')
@secure()
@minLength(16)
param postgresAdminPassword string

@description('PostgreSQL compute: Burstable B1ms serves a few hundred users; use General Purpose for more.')
param postgresSku object = {
  name: 'Standard_B1ms'
  tier: 'Burstable'
}

@description('Days of point-in-time restore the database keeps (7 to 35).')
@minValue(7)
@maxValue(35)
param backupRetentionDays int = 14

@description('Fewest and most running instances; they share the database and the Bot Connector\'s 50 sends per second.')
@minValue(1)
param minReplicas int = 1

@minValue(1)
@maxValue(10)
param maxReplicas int = 3

@description('Azure Bot pricing tier: F0 (free, standard channels such as Teams are free anyway) or S1.')
@allowed([
  'F0'
  'S1'
])
param botSku string = 'F0'

var suffix = uniqueString(resourceGroup().id, namePrefix)
var appName = '${namePrefix}-app'
var databaseName = 'kambot'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-identity'
  location: location
}

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: '${namePrefix}-logs-${suffix}'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-insights'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2022-12-01' = {
  name: '${namePrefix}-db-${suffix}'
  location: location
  sku: postgresSku
  properties: {
    version: '16'
    administratorLogin: postgresAdminLogin
    administratorLoginPassword: postgresAdminPassword
    storage: {
      storageSizeGB: 32
    }
    backup: {
      backupRetentionDays: backupRetentionDays
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2022-12-01' = {
  parent: postgres
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// Connections from Azure services only (the container app); TLS is required by the server.
resource azureServices 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2022-12-01' = {
  parent: postgres
  name: 'AllowAzureServices'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: '${namePrefix}-kv-${take(suffix, 8)}'
  location: location
  properties: {
    tenantId: tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    enablePurgeProtection: true
  }
}

resource databaseUrl 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'database-url'
  properties: {
    value: 'postgresql+asyncpg://${postgresAdminLogin}:${uriComponent(postgresAdminPassword)}@${postgres.properties.fullyQualifiedDomainName}:5432/${databaseName}?ssl=require'
  }
}

resource readSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// AcrPull on the resource group: a registry kept beside kambot. For a registry elsewhere, grant
// AcrPull to identityPrincipalId there (docs/admin.md, step 2).
resource pullImages 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(registryServer)) {
  name: guid(resourceGroup().id, identity.id, acrPull)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${namePrefix}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

var publicBaseUrl = 'https://${appName}.${environment.properties.defaultDomain}'

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: appName
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  dependsOn: [
    readSecrets
    pullImages
    database
    azureServices
  ]
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: 3978
        transport: 'auto'
        allowInsecure: false
      }
      registries: empty(registryServer) ? [] : [
        {
          server: registryServer
          identity: identity.id
        }
      ]
      secrets: [
        {
          name: 'database-url'
          keyVaultUrl: databaseUrl.properties.secretUri
          identity: identity.id
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'kambot'
          image: containerImage
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          env: [
            {
              name: 'KAMBOT_DATABASE_URL'
              secretRef: 'database-url'
            }
            {
              name: 'KAMBOT_APP_ID'
              value: identity.properties.clientId
            }
            {
              name: 'KAMBOT_APP_TYPE'
              value: 'UserAssignedMSI'
            }
            {
              name: 'KAMBOT_APP_TENANT_ID'
              value: tenantId
            }
            {
              name: 'KAMBOT_ALLOWED_TENANT_IDS'
              value: tenantId
            }
            {
              name: 'KAMBOT_PUBLIC_BASE_URL'
              value: publicBaseUrl
            }
            {
              // Graph as the app the package's webApplicationInfo names (teams grant their resource-specific
              // consent to it), proven by the managed identity through the app's federated credential.
              name: 'KAMBOT_GRAPH_AUTH'
              value: 'managed_identity_federation'
            }
            {
              name: 'KAMBOT_GRAPH_CLIENT_ID'
              value: tabSsoClientId
            }
            {
              name: 'KAMBOT_GRAPH_MANAGED_IDENTITY_CLIENT_ID'
              value: identity.properties.clientId
            }
            {
              name: 'KAMBOT_GRAPH_TENANT_ID'
              value: tenantId
            }
            {
              name: 'KAMBOT_TAB_SSO_CLIENT_ID'
              value: tabSsoClientId
            }
            {
              name: 'KAMBOT_KAM_TEAM_IDS'
              value: kamTeamIds
            }
            {
              name: 'KAMBOT_TEAMS_APP_ID'
              value: teamsAppId
            }
            {
              name: 'KAMBOT_MEETING_NUDGES'
              value: string(meetingNudges)
            }
            {
              // Not the ingress's target port: /metrics stays inside the environment.
              name: 'KAMBOT_METRICS_PORT'
              value: '9464'
            }
            {
              name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
              value: insights.properties.ConnectionString
            }
          ]
          probes: [
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 3978
              }
              periodSeconds: 30
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 3978
              }
              periodSeconds: 10
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
      }
    }
  }
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: '${namePrefix}-bot-${suffix}'
  location: 'global'
  kind: 'azurebot'
  sku: {
    name: botSku
  }
  properties: {
    displayName: 'kambot'
    endpoint: '${publicBaseUrl}/api/messages'
    msaAppId: identity.properties.clientId
    msaAppType: 'UserAssignedMSI'
    msaAppTenantId: tenantId
    msaAppMSIResourceId: identity.id
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

@description('Where Teams reaches kambot: KAMBOT_PUBLIC_BASE_URL for `kambot package`.')
output publicBaseUrl string = publicBaseUrl

@description('The bot\'s app id (the managed identity\'s client id): KAMBOT_APP_ID for `kambot package`.')
output botAppId string = identity.properties.clientId

@description('The managed identity\'s object (principal) id: the subject of the federated credential on the tabs\' app registration (docs/admin.md, step 2).')
output identityPrincipalId string = identity.properties.principalId

@description('The issuer of that federated credential: the tenant\'s Entra authority (docs/admin.md, step 2).')
output federatedCredentialIssuer string = '${environment().authentication.loginEndpoint}${tenantId}/v2.0'

output keyVaultName string = vault.name
output postgresServer string = postgres.properties.fullyQualifiedDomainName
