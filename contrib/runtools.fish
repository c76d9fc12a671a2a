# fish completion for runtools(1), the secretd client.  Completes commands
# and options, and secret and tool names from the server's metadata only
# (runtools secret list, tool list), never a value, at most two seconds
# each.

function __runtools_ask
    set -l conn
    set -l tok (commandline -opc)
    for i in (seq (count $tok))
        switch $tok[$i]
            case --url --ca-file
                set -l j (math $i + 1)
                test $j -le (count $tok); and set conn $conn $tok[$i] $tok[$j]
        end
    end
    timeout 2 runtools $conn $argv 2>/dev/null </dev/null
end

function __runtools_secrets
    set -l sel
    contains -- --org-wide (commandline -opc); and set sel --org-only
    __runtools_ask secret list $sel | awk 'NR > 1 { print $1 }' | sort -u
end

function __runtools_tools
    __runtools_ask tool list | awk 'NR > 1 { print $1 }'
end

# --env VAR=NAME: VAR= from the names, then NAME after '='.
function __runtools_env
    set -l cur (commandline -ct)
    set -l names (__runtools_secrets)
    if string match -q -- '*=*' $cur
        set -l var (string split -m 1 = -- $cur)[1]
        printf '%s=%s\n' $var $names
    else
        printf '%s=\n' $names
    end
end

# __runtools_is GROUP [CMD]: the line's command (and subcommand) so far.
function __runtools_is
    set -l tok (commandline -opc)
    set -l pos
    set -l skip 0
    for t in $tok[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $t
            case --url --ca-file --profile --output --category --description --user --role --ttl --param --params-json --credential --secret --env --allow-env --format --tool
                set skip 1
            case '-*'
            case '*'
                set pos $pos $t
        end
    end
    test (count $pos) -ge 1; and test "$pos[1]" = "$argv[1]"; or return 1
    test (count $argv) -lt 2; and return 0
    test (count $pos) -ge 2; and test "$pos[2]" = "$argv[2]"
end

function __runtools_needs_cmd
    set -l tok (commandline -opc)
    for t in $tok[2..-1]
        switch $t
            case secret token tool run mcp whoami
                return 1
        end
    end
    return 0
end

function __runtools_needs_sub
    # GROUP given, no subcommand yet
    __runtools_is $argv[1]; or return 1
    for s in $argv[2..-1]
        __runtools_is $argv[1] $s; and return 1
    end
    return 0
end

complete -c runtools -f
complete -c runtools -l url -r -d 'server: unix:PATH or https://HOST:PORT'
complete -c runtools -l ca-file -r -F -d 'CA certificate for TLS'
complete -c runtools -l profile -x -d 'a profile of the config file'
complete -c runtools -l json -d 'print JSON'
complete -c runtools -l help -d 'show help'
complete -c runtools -n __runtools_needs_cmd -l version -d 'show the version'

complete -c runtools -n __runtools_needs_cmd -a secret -d 'store, list, reveal, import and export secrets'
complete -c runtools -n __runtools_needs_cmd -a token -d 'create, list and revoke API tokens'
complete -c runtools -n __runtools_needs_cmd -a tool -d 'list, describe and run tools'
complete -c runtools -n __runtools_needs_cmd -a run -d 'run a command with secrets in its environment'
complete -c runtools -n __runtools_needs_cmd -a mcp -d 'serve your tools to an agent over MCP (stdio)'
complete -c runtools -n __runtools_needs_cmd -a whoami -d 'who the server takes you for'
complete -c runtools -n '__runtools_is mcp' -l tool -x -a '(__runtools_tools)' -d 'offer only this tool'
complete -c runtools -n '__runtools_is mcp' -l credential -x -d 'fill a slot: SLOT=SECRET[:org]'

set -l __rt_secret_cmds set rotate list get versions rollback delete export import
complete -c runtools -n "__runtools_needs_sub secret $__rt_secret_cmds" -a set -d 'create or replace a secret'
complete -c runtools -n "__runtools_needs_sub secret $__rt_secret_cmds" -a rotate -d 'replace the value of a secret'
complete -c runtools -n "__runtools_needs_sub secret $__rt_secret_cmds" -a list -d 'list secrets (metadata)'
complete -c runtools -n "__runtools_needs_sub secret $__rt_secret_cmds" -a get -d 'show a secret, --reveal its value'
complete -c runtools -n "__runtools_needs_sub secret $__rt_secret_cmds" -a versions -d 'list the kept versions of a secret'
complete -c runtools -n "__runtools_needs_sub secret $__rt_secret_cmds" -a rollback -d 'make a kept version current again'
complete -c runtools -n "__runtools_needs_sub secret $__rt_secret_cmds" -a delete -d 'delete a secret'
complete -c runtools -n "__runtools_needs_sub secret $__rt_secret_cmds" -a export -d 'write the values you may reveal'
complete -c runtools -n "__runtools_needs_sub secret $__rt_secret_cmds" -a import -d 'create or rotate from a file'
for c in get rotate delete versions rollback
    complete -c runtools -n "__runtools_is secret $c" -a '(__runtools_secrets)' -d secret
end
complete -c runtools -n '__runtools_is secret get' -l reveal -d 'show the value'
for c in get rollback
    complete -c runtools -n "__runtools_is secret $c" -l version -x -d 'a kept version'
end
for c in set get rotate delete versions rollback
    complete -c runtools -n "__runtools_is secret $c" -l org-wide -d 'the org secret'
    complete -c runtools -n "__runtools_is secret $c" -l user -x -d "another user's (admins)"
end
complete -c runtools -n '__runtools_is secret set' -l description -x -d description
for c in set list export import
    complete -c runtools -n "__runtools_is secret $c" -l category -x -a 'provider tool agent workflow custom'
end
for c in list export
    complete -c runtools -n "__runtools_is secret $c" -l user-only -d 'your own'
    complete -c runtools -n "__runtools_is secret $c" -l org-only -d "the org's"
    complete -c runtools -n "__runtools_is secret $c" -l all-org -d "every user's (admins)"
end
complete -c runtools -n '__runtools_is secret list' -l user -x -d "a user's (admins)"
complete -c runtools -n '__runtools_is secret export' -l format -x -a 'dotenv env json'
complete -c runtools -n '__runtools_is secret import' -F
complete -c runtools -n '__runtools_is secret import' -l format -x -a 'dotenv json'
complete -c runtools -n '__runtools_is secret import' -l org-wide -d 'as org secrets'
complete -c runtools -n '__runtools_is secret import' -l dry-run -d 'report, change nothing'

complete -c runtools -n '__runtools_needs_sub token create list revoke' -a create -d 'create a token'
complete -c runtools -n '__runtools_needs_sub token create list revoke' -a list -d 'list your tokens'
complete -c runtools -n '__runtools_needs_sub token create list revoke' -a revoke -d 'revoke a token'
complete -c runtools -n '__runtools_is token create' -l description -x -d description
complete -c runtools -n '__runtools_is token create' -l role -x -a 'member admin'
complete -c runtools -n '__runtools_is token create' -l ttl -x -d lifetime
complete -c runtools -n '__runtools_is token create' -l no-expiry -d 'a token that never expires'
complete -c runtools -n '__runtools_is token create' -l output -r -F -d 'write the token to a 0600 file'
complete -c runtools -n '__runtools_is token create' -l force -d 'replace that file'

complete -c runtools -n '__runtools_needs_sub tool list show exec' -a list -d 'list tools'
complete -c runtools -n '__runtools_needs_sub tool list show exec' -a show -d 'describe a tool'
complete -c runtools -n '__runtools_needs_sub tool list show exec' -a exec -d 'run an action of a tool'
complete -c runtools -n '__runtools_is tool show' -a '(__runtools_tools)' -d tool
complete -c runtools -n '__runtools_is tool exec' -a '(__runtools_tools)' -d tool
complete -c runtools -n '__runtools_is tool exec' -l param -x -d 'parameter K=V'
complete -c runtools -n '__runtools_is tool exec' -l params-json -r -F -d 'parameters from a JSON file'
complete -c runtools -n '__runtools_is tool exec' -l credential -x -d SLOT=SECRET

complete -c runtools -n '__runtools_is run' -l secret -x -a '(__runtools_secrets)' -d 'put secret NAME in the environment'
complete -c runtools -n '__runtools_is run' -l env -x -a '(__runtools_env)' -d 'set VAR to secret NAME'
complete -c runtools -n '__runtools_is run' -l category -x -a 'provider tool agent workflow custom'
complete -c runtools -n '__runtools_is run' -l org-wide -d "the org's secrets only"
complete -c runtools -n '__runtools_is run' -l allow-env -x -a 'LD_PRELOAD LD_LIBRARY_PATH PATH PYTHONPATH NODE_OPTIONS PERL5LIB RUBYLIB BASH_ENV ENV'
complete -c runtools -n '__runtools_is run' -l no-mask -d 'do not mask values in the output'
