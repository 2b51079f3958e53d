# expect.sh: the checks the shell tests share (sourced, not run). The sourcing
# script sets D (the folder commands run in) and keeps the counts in n and fails.
#
# abspath FILE: FILE's absolute path (its folder must exist)
abspath() { printf '%s\n' "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
# scratch NAME: T, a new folder /tmp/unetrc-NAME-XXXXXX removed at exit (made writable first: a test
# may leave read-only folders in it); the counts n and fails start at 0
scratch() {
    T=$(mktemp -d "/tmp/unetrc-$1-XXXXXX")
    trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
    fails=0; n=0
}
# expect RC "STDERR" cmd...: cmd, run from $D, exits RC with exactly STDERR
expect() {
    want_rc=$1; want_err=$2; shift 2
    n=$((n + 1))
    err=$(cd "$D" && "$@" 2>&1 >/dev/null); rc=$?
    if [ "$rc" != "$want_rc" ] || [ "$err" != "$want_err" ]; then
        echo "FAIL: $*"; echo "  want rc=$want_rc: $want_err"; echo "  got  rc=$rc: $err"
        fails=$((fails + 1))
    fi
}
# no_files DIR: nothing (not even a temporary file) was written there
no_files() {
    n=$((n + 1))
    if [ -n "$(ls -A "$1")" ]; then echo "FAIL: files left in $1: $(ls -A "$1")"; fails=$((fails + 1)); fi
}
# check cmd...: cmd succeeds
check() { n=$((n + 1)); if ! "$@"; then echo "FAIL: $*"; fails=$((fails + 1)); fi; }
