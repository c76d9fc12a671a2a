#!/usr/bin/env bash
# The shell completions of runtools: the bash script loads, registers
# itself and completes commands, options and secret names against a stub
# runtools that records what it is asked, so the test also shows that a
# completion asks only for metadata (secret list, tool list) and gives up
# after two seconds.  zsh and fish: a syntax check (and, for fish, a
# completion) where those shells are installed, skipped otherwise.
: "${top_srcdir:?}" "${top_builddir:?}"
SRC=$top_srcdir/contrib
# The bash and zsh scripts as make builds them, with this build's paths.
BUILT=$top_builddir/contrib

n=0 failed=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"
	else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
is() {
	if [ "$1" = "$2" ]; then ok 0 "$3"
	else ok 1 "$3"; echo "#   got:  $1"; echo "#   want: $2"; fi
}
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }

TMP=$(mktemp -d /tmp/runtools-completion.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
LOG=$TMP/asked
# A stub runtools: logs its arguments, lists a few secrets and tools.
cat >"$TMP/runtools" <<'STUB'
#!/usr/bin/env bash
printf '%s\n' "$*" >>"$RT_STUB_LOG"
[ -n "${RT_STUB_SLOW:-}" ] && sleep 5
case " $* " in
*" secret list --org-only "*)
	printf 'NAME     SCOPE CATEGORY\nORG_KEY  org   custom\n' ;;
*" secret list "*)
	printf 'NAME       SCOPE CATEGORY\nALPHA_KEY  user  custom\nBETA_KEY   user  custom\nORG_KEY    org   custom\nALPHA_KEY  org   custom\n' ;;
*" secret versions ALPHA_KEY "*)
	printf 'VERSION  CREATED               CREATED BY  CURRENT\n3        2026-01-01T00:00:00Z  alice       current\n2        2026-01-01T00:00:00Z  alice\n' ;;
*" tool list "*)
	printf 'NAME    TYPE\ngithub  http\n' ;;
esac
STUB
chmod +x "$TMP/runtools"
export PATH=$TMP:$PATH RT_STUB_LOG=$LOG

# --- bash ---
# shellcheck source=/dev/null
. "$BUILT/bash-completion/runtools"
is "$(complete -p runtools 2>&1)" "complete -F _runtools runtools" \
    "bash: the script registers _runtools for runtools"

# comp WORD...: the sorted completions of the line, the last word current.
comp() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_runtools 2>/dev/null
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

is "$(comp runtools '' | tr ' ' '\n' | grep -v '^-' | tr '\n' ' ')" \
    "mcp run secret token tool whoami " "bash: the commands"
is "$(comp runtools secret '')" \
    "--help delete export get import list rollback rotate set versions" \
    "bash: secret's subcommands"
is "$(comp runtools token '')" "--help create list revoke" \
    "bash: token's subcommands"
is "$(comp runtools tool '')" "--help exec list show" \
    "bash: tool's subcommands"
is "$(comp runtools wh)" "whoami" "bash: whoami"
is "$(comp runtools run --n)" "--no-mask" "bash: run's options"
is "$(comp runtools secret get --r)" "--reveal" "bash: get's options"
# The socket runtools uses by default, from the build's configure.
sock=$("$top_builddir/runtools" --help 2>&1 |
    sed -n 's/^ *\(unix:[^ ;]*secretd\.sock\);$/\1/p' | head -n 1)
is "$(comp runtools --url u)" "${sock:-unix:?}" \
    "bash: --url offers this build's default socket"

: >"$LOG"
is "$(comp runtools secret versions A)" "ALPHA_KEY" \
    "bash: secret versions completes the names"
is "$(comp runtools secret rollback ALPHA_KEY --version '')" "2 3" \
    "bash: rollback --version completes the kept versions"
is "$(comp runtools secret get ALPHA_KEY --reveal --version '')" "2 3" \
    "bash: get --version completes the kept versions"
is "$(comp runtools secret rollback ALPHA_KEY --version 2 --o)" "--org-wide" \
    "bash: --version's number is not taken for a name"
is "$(comp runtools secret get '')" "ALPHA_KEY BETA_KEY ORG_KEY" \
    "bash: secret get completes the secret names, once each"
is "$(comp runtools secret rotate B)" "BETA_KEY" "bash: secret rotate, a prefix"
is "$(comp runtools secret delete --org-wide '')" "ORG_KEY" \
    "bash: --org-wide: the org's names only"
is "$(comp runtools secret get ALPHA_KEY '')" "" \
    "bash: no second secret name"
is "$(comp runtools run --secret '')" "ALPHA_KEY BETA_KEY ORG_KEY" \
    "bash: run --secret completes the names"
is "$(comp runtools run --env FOO = A)" "ALPHA_KEY" \
    "bash: run --env VAR=NAME (split at '='): the name"
is "$(comp runtools run --env FOO =)" "ALPHA_KEY BETA_KEY ORG_KEY" \
    "bash: run --env VAR= with the cursor after '='"
is "$(comp runtools run --env FOO=B)" "FOO=BETA_KEY" \
    "bash: run --env VAR=NAME in one word"
is "$(comp runtools run --env AL)" "ALPHA_KEY=" \
    "bash: run --env VAR offers VAR= from the names"
is "$(comp runtools run --env FOO = BETA_KEY --se)" "--secret" \
    "bash: options after --env VAR=NAME"
is "$(comp runtools tool show '')" "github" "bash: tool names still complete"
is "$(comp runtools mcp --t)" "--tool" "bash: mcp's options"
is "$(comp runtools mcp --tool '')" "github" "bash: mcp --tool completes the tool names"
is "$(comp runtools mcp --tool github --c)" "--ca-file --credential" \
    "bash: mcp, after --tool NAME"
: >"$LOG"
comp runtools --url unix:/x/s.sock secret get '' >/dev/null
is "$(cat "$LOG")" "--url unix:/x/s.sock secret list" \
    "bash: the line's --url is passed on"
: >"$LOG"
for line in "secret get ''" "secret rotate ''" "secret delete ''" \
    "run --secret ''" "run --env ''" "run --env X = ''"; do
	eval "comp runtools $line" >/dev/null
done
is "$(sort -u "$LOG" | tr '\n' '|')" "secret list|" \
    "bash: only 'secret list' is asked, never a value"

start=$SECONDS
is "$(RT_STUB_SLOW=1 comp runtools secret get '')" "" \
    "bash: a server that does not answer: no names"
ok "$([ $((SECONDS - start)) -le 4 ]; echo $?)" \
    "bash: ... given up within two seconds ($((SECONDS - start)) s)"

# --- zsh ---
if command -v zsh >/dev/null; then
	ok "$(zsh -n "$BUILT/zsh/_runtools"; echo $?)" "zsh: _runtools parses"
	ok "$(head -n 1 "$BUILT/zsh/_runtools" | grep -qx '#compdef runtools'; echo $?)" \
	    "zsh: _runtools is a #compdef runtools function"
else
	skip "zsh is not installed"
	skip "zsh is not installed"
fi

# --- fish ---
if command -v fish >/dev/null; then
	ok "$(fish -n "$SRC/runtools.fish"; echo $?)" "fish: runtools.fish parses"
	got=$(fish -c "source '$SRC/runtools.fish'; complete -C 'runtools '" |
	    cut -f1 | grep -v '^-' | sort | tr '\n' ' ')
	is "$got" "mcp run secret token tool whoami " "fish: the commands"
	got=$(fish -c "source '$SRC/runtools.fish'; complete -C 'runtools secret get '" |
	    cut -f1 | sort | tr '\n' ' ')
	is "$got" "ALPHA_KEY BETA_KEY ORG_KEY " "fish: secret get completes names"
else
	skip "fish is not installed"
	skip "fish is not installed"
	skip "fish is not installed"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
