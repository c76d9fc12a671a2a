# custom-crm: the RunTools documentation's example tool.  Looks up a
# customer in a CRM over HTTPS with the organisation's shared API key,
# which the caller (or a personal secret of the same name) may override.
#
#   runtools tool exec custom-crm lookup_customer --param email=person@example.com
#
# See secretd.tools(5).

description = Look up customers in the CRM
type = http
allow = members
timeout = 10s
max_result = 64K
base_url = https://crm.example.com/api
#ca_file = /etc/secretd/crm-ca.pem	# a private CA, else the system's

# The API key: the secret SHARED_CRM_KEY unless the caller names another,
# sent as "Authorization: Bearer <key>".
slot apiKey
	secret = SHARED_CRM_KEY
	header = Authorization: Bearer {}

# GET https://crm.example.com/api/customers/<email, URL-encoded>
action lookup_customer
	description = Find a customer by email
	method = GET
	path = /customers/{email}
	param email string required
