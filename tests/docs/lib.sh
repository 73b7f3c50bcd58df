# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/docs/lib.sh - sourced by the docs tests (with $top set and the build
# folder as $1): sources tests/lib.sh, sets IMGTOOL, and gives what the man page,
# completion and packaging tests share: the command list, and the option names a
# command's --help names and its man page documents (one per line, sorted).
. "$top/tests/lib.sh"
build=$1
find_imgtool docs "$build"

# main_commands: the subcommands of imgtool/main.c's table, sorted
main_commands() {
	sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", cmd_.*/\1/p' "$top/imgtool/main.c" | sort
}

# help_options TEXT: tokens like -f, -oc, --output that start a word (after a
# space, a quote, '[', '|' or '(') and end at a space, a quote, ']', '=', '|',
# ',' or ')'; "-NAME" (an uppercase placeholder in prose) is not an option.
help_options() {
	local start="(^|[][ |('])" end="([]=|,) ']|\$)"
	printf '%s\n' "$1" |
		grep -oE "$start--?[a-z][a-z0-9-]*|$start-[A-Z]$end" |
		sed -E "s/^[][ |(']//; s/[]=|,) ']\$//" | sort -u
}

# page_options FILE: the options in the page's option entries, the lines of the
# scdoc source that begin with a bold option (*-f* _fmt_, *--output*=_ofmt_).
page_options() {
	grep -E '^\*--?[A-Za-z]' "$1" | grep -oE '\*--?[A-Za-z][A-Za-z0-9-]*' |
		sed 's/^\*//' | sort -u
}
