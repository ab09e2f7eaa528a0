#!/usr/bin/env bash
# Shell completions: `meson install --destdir` puts the bash and zsh files of the three tools
# where bash-completion and zsh look for them; every subcommand and every flag of every
# subcommand's --help is in both files; sourcing the bash file registers `complete -F` and
# completes subcommands, flags and file names after a flag that takes a value. TAP output.
#   env: GRAFOS_BUILD_ROOT (set by meson test)
set -uo pipefail
build=${GRAFOS_BUILD_ROOT:?run under meson test}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

tools=(grafos-ca)
for t in grafos-admin grafos-registry; do [ -x "$build/tools/$t/$t" ] && tools+=("$t"); done

meson install -C "$build" --no-rebuild --destdir "$tmp/dest" >"$tmp/install.log" 2>&1
check "meson install --destdir succeeds" '[ $? -eq 0 ]' || sed 's/^/# /' "$tmp/install.log"
prefix=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
datadir=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="datadir"))')
share=$tmp/dest$prefix/$datadir
for t in "${tools[@]}"; do
  check "$t: bash completion installed in share/bash-completion/completions" \
    '[ -s "$share/bash-completion/completions/$t" ]'
  check "$t: zsh completion installed in share/zsh/site-functions" \
    '[ -s "$share/zsh/site-functions/_$t" ] && head -n 1 "$share/zsh/site-functions/_$t" | grep -qx "#compdef $t"'
  check "$t: the bash file is valid bash" 'bash -n "$share/bash-completion/completions/$t"'
  if command -v zsh >/dev/null; then
    check "$t: the zsh file is valid zsh" 'zsh -n "$share/zsh/site-functions/_$t"'
  fi
done

# Every subcommand and flag of every --help, walked here independently of the generator.
help_walk() {  # EXE PATH... -> lines "PATH|FLAG" and "PATH|SUB:NAME"
  local exe=$1
  shift
  local text line sub section="" started=0
  text=$(NO_COLOR=1 "$exe" "$@" --help) || return 1
  while IFS= read -r line; do
    [[ "$line" == Usage:* ]] && { started=1; continue; }
    ((started)) || continue
    [[ "$line" =~ ^[A-Za-z].*:$ ]] && { section=${line%:}; continue; }
    [[ "$line" =~ ^\ \ ([^ ].*)$ ]] || continue
    local first=${BASH_REMATCH[1]%% *}
    if [ "$section" = Options ] && [[ "$first" == -* ]]; then
      tr ',' '\n' <<<"$first" | grep '^-' | sed "s#^#$*|#"
    elif [ "$section" = Subcommands ]; then
      printf '%s|SUB:%s\n' "$*" "$first"
      help_walk "$exe" "$@" "$first"
    fi
  done <<<"$text"
}
for t in "${tools[@]}"; do
  exe=$build/tools/$t/$t
  help_walk "$exe" >"$tmp/$t.help" || not_ok "$t --help walk"
  bash_file=$share/bash-completion/completions/$t
  zsh_file=$share/zsh/site-functions/_$t
  missing=0
  total=0
  while IFS="|" read -r path item; do
    total=$((total + 1))
    key="$t${path:+ $path}"
    word=${item#SUB:}
    if [[ "$item" == SUB:* ]]; then table=subs; else table=flags; fi
    # bash: ["<key>"]="... word ..." in the table; zsh: "<key>" "... word ...".
    if ! awk -v t="$table" -v k="[\"$key\"]=" -v w="$word" '
        $0 ~ "^  " t "=\\(" {on=1; next} on && /^  \)/ {on=0}
        on && index($0, k) {sub(/^[^=]*=/, ""); gsub(/"/, ""); n=split($0, a, " ");
          for (i=1;i<=n;i++) if (a[i]==w) f=1}
        END {exit !f}' "$bash_file" ||
      ! awk -v t="$table" -v k="\"$key\" " -v w="$word" '
        $0 ~ "^" t "=\\(" {on=1; next} on && /^\)/ {on=0}
        on && index($0, k)==3 {s=substr($0, length(k)+3); gsub(/"/, "", s); n=split(s, a, " ");
          for (i=1;i<=n;i++) if (a[i]==w) f=1}
        END {exit !f}' "$zsh_file"; then
      echo "# $t: '$word' of '${path:-(top)}' is missing from a completion file"
      missing=$((missing + 1))
    fi
  done <"$tmp/$t.help"
  check "$t: all $total subcommands and flags of its --help are in both completion files" \
    '[ "$total" -gt 5 ] && [ "$missing" -eq 0 ]'
done

# Sourcing the bash file: complete -p and COMPREPLY for subcommands, flags and values.
cat >"$tmp/complete.sh" <<SH
. "$share/bash-completion/completions/grafos-ca"
comp() { COMP_WORDS=("\$@"); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _grafos_ca; echo "\${COMPREPLY[*]}"; }
complete -p grafos-ca
echo "iss: \$(comp grafos-ca iss)"
echo "ip: \$(comp grafos-ca image-provenance v)"
echo "flags: \$(comp grafos-ca issue-cert --ca-)"
echo "token: \$(comp grafos-ca token init --so)"
mkdir -p "$tmp/files" && touch "$tmp/files/ca.pem"
echo "value: \$(comp grafos-ca issue-cert --ca-cert "$tmp/files/c")"
echo "after value: \$(comp grafos-ca issue-cert --ca-cert x --for)"
SH
out=$(bash "$tmp/complete.sh" 2>&1)
check "complete -p shows the function" 'grep -qx "complete -F _grafos_ca grafos-ca" <<<"$out"'
check "a subcommand completes" 'grep -qx "iss: issue-cert issue-server-cert issue-intermediate" <<<"$out"'
check "a nested subcommand completes" 'grep -qx "ip: verify" <<<"$out"'
check "a subcommand's flags complete" 'grep -qx "flags: --ca-cert --ca-key" <<<"$out"'
check "token init's flags complete" 'grep -qx "token: --so-pin-file" <<<"$out"'
check "a file name completes after a flag that takes one" 'grep -qx "value: $tmp/files/ca.pem" <<<"$out"'
check "a flag's value is skipped when finding the subcommand" 'grep -qx "after value: --force" <<<"$out"'
[ "$fail" -eq 0 ] || sed 's/^/# /' <<<"$out"

# A flag with a fixed set of values (CLI11 shows TEXT:{a,b}) completes those values.
if [ -s "$share/bash-completion/completions/grafos-admin" ]; then
  kinds=$(NO_COLOR=1 "$build/tools/grafos-admin/grafos-admin" audit-query --help |
    sed -n 's/^  --kind [A-Z]*:{\([^}]*\)}.*/\1/p' | tr ',' ' ')
  out=$(bash -c '. "$1"; COMP_WORDS=(grafos-admin audit-query --kind a); COMP_CWORD=3
    _grafos_admin; echo "${COMPREPLY[*]}"' _ "$share/bash-completion/completions/grafos-admin")
  want=$(tr ' ' '\n' <<<"$kinds" | grep '^a' | tr '\n' ' ' | sed 's/ $//')
  check "audit-query --kind a completes the kinds starting with a ($want)" \
    '[ -n "$want" ] && [ "$out" = "$want" ]'
fi

# zsh: the file is a completion function body; compadd and _files stubbed to print what they get.
if command -v zsh >/dev/null; then
  cat >"$tmp/complete.zsh" <<ZSH
compadd() { [[ \$1 == -- ]] && shift; print -r -- "\$@"; }
_files() { print FILES; }
t() { words=("\$@"); CURRENT=\$#; PREFIX=\${words[CURRENT]}; source "$share/zsh/site-functions/_grafos-ca"; }
print "top: \$(t grafos-ca '')"
print "ip: \$(t grafos-ca image-provenance '')"
print "token: \$(t grafos-ca token init --)"
print "value: \$(t grafos-ca issue-cert --ca-cert '')"
ZSH
  zout=$(zsh -f "$tmp/complete.zsh" 2>&1)
  check "zsh: subcommands complete" 'grep -q "^top: init-ca issue-cert .*token" <<<"$zout"'
  check "zsh: a nested subcommand completes" 'grep -qx "ip: build sign verify trusted-root" <<<"$zout"'
  check "zsh: token init's flags complete" \
    'grep "^token: " <<<"$zout" | grep -q -- "--module --label --so-pin-file --pin-file"'
  check "zsh: file names after a flag that takes one" 'grep -qx "value: FILES" <<<"$zout"'
  if [ -s "$share/zsh/site-functions/_grafos-admin" ]; then
    kz=$(zsh -f -c 'compadd() { [[ $1 == -- ]] && shift; print -r -- "$@"; }
      words=(grafos-admin audit-query --kind ""); CURRENT=4; PREFIX=""; source "$1"' _ \
      "$share/zsh/site-functions/_grafos-admin" 2>&1)
    check "zsh: audit-query --kind completes the kinds ($kz)" '[ -n "$kinds" ] && [ "$kz" = "$kinds" ]'
  fi
  [ "$fail" -eq 0 ] || sed 's/^/# /' <<<"$zout"
else
  echo "# zsh not installed: zsh behaviour not checked"
fi
echo "1..$n"
exit $fail
