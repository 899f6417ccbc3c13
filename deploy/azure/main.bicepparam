// Parameters of a deployment; copy and edit. The database password is passed on the command line
// (-p postgresAdminPassword=...), never written here.
using './main.bicep'

param namePrefix = 'kambot'
param containerImage = 'contosoacr.azurecr.io/kambot:0.1.0'
param registryServer = 'contosoacr.azurecr.io'
param tabSsoClientId = '00000000-0000-0000-0000-000000000000'
param kamTeamIds = ''
param teamsAppId = ''
param meetingNudges = false
param minReplicas = 1
param maxReplicas = 3
