# tests/docs/options.sh - sourced: the option names a command's --help names and
# the ones its man page documents, one per line, sorted, so test_man.sh can
# compare the two sets.
#
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
