#!/usr/bin/env bash
# Seed 002 tenant tokens on the command line: add prints the token once and stores only its
# SHA-256; list; disable/enable by id or name; resolution rules; refusals write nothing.
. "$(dirname "$0")/lib.sh"
DB=$T/db
"$REGISTRY" tenant add acme --db "$DB" >"$T/a.out" 2>"$T/a.err"
check "add exits 0" test $? = 0
check "add prints 'Created tenant #1 (acme)'" grep -qx 'Created tenant #1 (acme)' "$T/a.out"
check "add prints the save-this line" grep -q 'API key (save this' "$T/a.out"
TOK=$(grep -oE 'gfr_[0-9a-f]{64}' "$T/a.out")
check "token is gfr_ + 64 hex" test ${#TOK} = 68
DIG=$(printf '%s' "$TOK" | sha256sum | cut -d' ' -f1)
check "database stores the SHA-256 digest" test "$(sqlite3 "$DB" "SELECT token_digest FROM tenants WHERE id=1")" = "$DIG"
check "database never holds the token" test -z "$(sqlite3 "$DB" .dump | grep -F "${TOK:4}")"
"$REGISTRY" tenant add beta --db "$DB" >"$T/b.out"
TOK2=$(grep -oE 'gfr_[0-9a-f]{64}' "$T/b.out")
check "tokens are fresh" test "$TOK" != "$TOK2"
"$REGISTRY" tenant add 42 --db "$DB" >/dev/null
"$REGISTRY" tenant list --db "$DB" >"$T/l.out"
check "list header" grep -qE '^ID +Name +Status +Last used$' "$T/l.out"
check "list separator" grep -qx -- "$(printf -- '-%.0s' {1..60})" "$T/l.out"
check "list row acme active never" grep -qE '^1 +acme +active +never$' "$T/l.out"
"$REGISTRY" tenant disable acme --db "$DB" >"$T/d.out"
check "disable by name" grep -qx "Disabled tenant 'acme'." "$T/d.out"
"$REGISTRY" tenant list --db "$DB" | grep -qE '^1 +acme +disabled' && ok "list shows disabled" || not_ok "list shows disabled"
"$REGISTRY" tenant enable 1 --db "$DB" >"$T/e.out"
check "enable by id" grep -qx "Enabled tenant 'acme'." "$T/e.out"
"$REGISTRY" tenant disable 3 --db "$DB" >"$T/d3.out"
check "all digits is an id (3 -> tenant named 42)" grep -qx "Disabled tenant '42'." "$T/d3.out"
"$REGISTRY" tenant disable 42 --db "$DB" >"$T/d42.out" 2>"$T/d42.err"; rc=$?
check "all digits never matches a name: '42' is id 42 -> exit 1" test $rc = 1
check "no match message" grep -q "No tenant matched '42'" "$T/d42.err"
"$REGISTRY" tenant disable ACME --db "$DB" >/dev/null 2>"$T/c.err"; rc=$?
check "names match case-sensitively (ACME): exit 1" test $rc = 1
check "no match message for ACME" grep -q "No tenant matched 'ACME'" "$T/c.err"
"$REGISTRY" tenant enable nobody --db "$DB" >/dev/null 2>&1
check "enable unknown exits 1" test $? = 1
before=$(sqlite3 "$DB" .dump | md5sum)
"$REGISTRY" tenant add acme --db "$DB" >"$T/dup.out" 2>"$T/dup.err"; rc=$?
check "duplicate name refused (exit 4)" test $rc = 4
check "duplicate prints no token" test -z "$(grep -oE 'gfr_' "$T/dup.out")"
"$REGISTRY" tenant add 'bad name' --db "$DB" >/dev/null 2>"$T/bad.err"; rc=$?
check "bad name refused (exit 3)" test $rc = 3
check "bad name message names the grammar" grep -q 'A-Za-z0-9._-' "$T/bad.err"
"$REGISTRY" tenant add 'bad name' --db "$T/fresh.db" >/dev/null 2>&1; rc=$?
check "bad name on a fresh path refused (exit 3)" test $rc = 3
check "bad name creates no database" test ! -e "$T/fresh.db"
"$REGISTRY" admin-token add 'bad name' --db "$T/fresh.db" >/dev/null 2>&1; rc=$?
check "bad admin token name refused (exit 3), no database" test $rc = 3 -a ! -e "$T/fresh.db"
"$REGISTRY" tenant add big --quota-cpu 9223372036854775807 --db "$DB" >"$T/big.out" 2>"$T/big.err"; rc=$?
check "cpu quota above 2^20 refused (exit 3)" test $rc = 3
check "the refusal names the maximum" grep -q 1048576 "$T/big.err"
check "refused quota prints no token" test -z "$(grep -oE 'gfr_' "$T/big.out")"
"$REGISTRY" tenant add big --quota-mem 1125899906842625 --db "$DB" >/dev/null 2>"$T/bigm.err"; rc=$?
check "mem quota above 2^50 refused (exit 3)" test $rc = 3
check "the mem refusal names the maximum" grep -q 1125899906842624 "$T/bigm.err"
after=$(sqlite3 "$DB" "SELECT * FROM tenants" | md5sum)
check "refusals changed no tenant" test "$(sqlite3 "$DB" 'SELECT COUNT(*) FROM tenants')" = 3
"$REGISTRY" tenant add atmax --quota-mem 1125899906842624 --quota-cpu 1048576 --db "$DB" >/dev/null; rc=$?
check "quotas at the maxima accepted" test $rc = 0
"$REGISTRY" tenant list --db "$T/missing.db" >/dev/null 2>"$T/m.err"; rc=$?
check "list on a missing database fails clearly" test $rc -ne 0
check "missing database not created by list" test ! -e "$T/missing.db"
"$REGISTRY" --json tenant list --db "$DB" >"$T/j.out"
check "--json list" test "$(jq -r '.[0].name' "$T/j.out")" = acme
"$REGISTRY" admin-token add ops --db "$DB" >"$T/at.out"
check "admin-token add prints a gfa_ token" grep -qE 'gfa_[0-9a-f]{64}' "$T/at.out"
"$REGISTRY" admin-token add ops --db "$DB" >/dev/null 2>&1
check "admin-token duplicate name refused" test $? = 4
check "CLI actions audited" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM audit WHERE kind='token' AND outcome='allowed'")" -ge 6
check "tenant --help explains resolution" grep -q 'all-digits' <("$REGISTRY" tenant disable --help)
check "serve --help mentions auth modes" grep -q 'mtls+token' <("$REGISTRY" serve --help)
check "database is 0600" test "$(stat -c %a "$DB")" = 600
finish
