# github: an exec tool.  Runs github.py (beside this file) with the token
# in its environment only; the script reads {"action","params"} on stdin
# and prints GitHub's answer, trimmed, as JSON.  The token never appears
# in an argument, so other users cannot see it in the process list.
#
#   runtools tool exec github repo --param owner=torvalds --param name=linux
#
# See secretd.tools(5).

description = Read GitHub accounts and repositories with a token
type = exec
command = github.py		# relative: taken from the tools folder
timeout = 20s
max_result = 16K

# A fine-grained personal access token with read access, as
# GITHUB_TOKEN.  A member's own GITHUB_TOKEN secret wins over the org's.
slot token
	secret = GITHUB_TOKEN
	env = GITHUB_TOKEN

action whoami
	description = The account the token belongs to

action repo
	description = One repository: description, visibility, branch, activity
	param owner string required
	param name string required
