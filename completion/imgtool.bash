# SPDX-License-Identifier: LGPL-2.1-or-later
# imgtool(1) bash completion: subcommands, their options, option values and files.
#
# Everything is read from the imgtool being completed (the command word, so a
# build/imgtool works too), never listed here: the commands and the format names
# from `imgtool --help`, a command's options and what they take from
# `imgtool CMD --help`, a format's -o option names from
# `imgtool create -f FMT -o help`, snapshot names from
# `imgtool snapshot -l --output=json FILE`.  So a new command, option or format
# completes without touching this file.

# _imgtool_run ARGS...: the completed imgtool's output, no errors
_imgtool_run() {
	"${_imgtool_bin:-imgtool}" "$@" 2>/dev/null
}

_imgtool_commands() {
	_imgtool_run --help | sed -n '/^Command syntax:/,/^$/s/^  \([a-z0-9-]*\).*/\1/p'
}

_imgtool_formats() {
	_imgtool_run --help | sed -n 's/^Supported formats: //p'
}

# _imgtool_optspec CMD: one line per option of CMD's --help, "OPTION ARG": ARG is
# empty (a flag), a placeholder (fmt, FILE...) or alternatives (a|b|c); the first
# mention of an option (its usage line) wins over the prose after it.
_imgtool_optspec() {
	_imgtool_run "$1" --help | sed 's/\[/ /g; s/\]/ ] /g; s/(--/( --/g; s/)\.\.\./ ] /g' | awk '
	# an option value ends its clause: "]", "|", "/", the line end, another option
	# or a parenthesis follows (prose like "--dry-run runs them" has none)
	function ends(k) {
		return k > NF || $k == "]" || $k == "|" || $k == "/" || $k ~ /^-/ || $k ~ /^\(/
	}
	{
		for (i = 1; i <= NF; i++) {
			o = $i
			a = ""
			j = i
			if (o ~ /^--[a-z][a-z0-9-]*=/) {
				a = substr(o, index(o, "=") + 1)
				o = substr(o, 1, index(o, "=") - 1)
			}
			if (o !~ /^-[A-Za-z]$|^--?[a-z][a-z0-9-]*$/ || o in seen)
				continue
			seen[o] = 1
			if (a == "" && !ends(i + 1)) {
				a = $(i + 1)
				j = i + 1
				# "-r [leaks | all]": alternatives spelled with spaces
				while ($(j + 1) == "|" && j + 2 <= NF && $(j + 2) !~ /^-|^\]/) {
					a = a "|" $(j + 2)
					j += 2
				}
				if (!ends(j + 1))
					a = ""
			}
			print o, a
		}
	}'
}

# _imgtool_create_opts FMT: the -o option names of a format
_imgtool_create_opts() {
	# with a file name, the options of the file under the image (preallocation...) too
	_imgtool_run create -f "$1" -o help /nonexistent/imgtool-completion | sed -n 's/^  \([a-z0-9_.-]*\)=.*/\1/p'
}

# _imgtool_word_after OPT: the value given to OPT earlier on the line
_imgtool_word_after() {
	local i
	for ((i = 2; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		"$1") echo "${COMP_WORDS[i + 1]}"; return ;;
		"$1"=*) echo "${COMP_WORDS[i]#*=}"; return ;;
		esac
	done
}

# _imgtool_files: the words that are not options or options' values, one a line
# (snapshot -a NAME FILE: the file comes after the name being completed)
_imgtool_files() {
	local i w prev spec
	for ((i = 2; i < ${#COMP_WORDS[@]}; i++)); do
		[ "$i" -eq "$COMP_CWORD" ] && continue
		w=${COMP_WORDS[i]}
		prev=${COMP_WORDS[i - 1]}
		[[ $w == -* ]] && continue
		if [[ $prev == -* && $prev != *=* && $i -ne $((COMP_CWORD + 1)) ]]; then
			spec=$(printf '%s\n' "$_imgtool_spec" | awk -v o="$prev" '$1 == o { print $2 }')
			[ -n "$spec" ] && continue
		fi
		printf '%s\n' "$w"
	done
}

# _imgtool_last_file: the last of them
_imgtool_last_file() {
	_imgtool_files | tail -n 1
}

_imgtool_snapshots() {
	local file
	file=$(_imgtool_last_file)
	[ -n "$file" ] && [ -e "$file" ] || return
	_imgtool_run snapshot -l --output=json "$file" |
		sed -n 's/^ *"name": "\(.*\)",\{0,1\}$/\1/p' | sed 's/\\"/"/g; s/\\\\/\\/g'
}

# bitmap names of the image (bitmap's first argument; the second is a bitmap
# name), or of the file -b names (bitmap --merge SOURCE -b FILE)
_imgtool_bitmaps() {
	local file= i
	for ((i = 2; i < ${#COMP_WORDS[@]} - 1; i++)); do
		[ "${COMP_WORDS[i]}" = -b ] && [ "$i" -ne "$COMP_CWORD" ] && file=${COMP_WORDS[i + 1]}
	done
	[ -n "$file" ] || file=$(_imgtool_files | head -n 1)
	[ -n "$file" ] && [ -e "$file" ] || return
	_imgtool_run info --output=json "$file" | awk '
		/"bitmaps": \[/ { depth = 1; next }
		depth > 0 {
			if ($0 ~ /\[ *$/) depth++
			else if ($0 ~ /^ *\],?$/) depth--
			else if (depth == 1 && match($0, /^ *"name": "/)) {
				v = substr($0, RLENGTH + 1)
				sub(/",?$/, "", v)
				print v
			}
		}' | sed 's/\\"/"/g; s/\\\\/\\/g'
}

# -o: complete the last item of "key=value,key2=..." with the format's names
_imgtool_complete_create_opts() {
	local cmd=$1 cur=$2 fmt head item
	case $cmd in
	convert | measure) fmt=$(_imgtool_word_after -O) ;;
	*) fmt=$(_imgtool_word_after -f) ;;
	esac
	[ -n "$fmt" ] || fmt=raw
	head=
	item=$cur
	if [[ $cur == *,* ]]; then
		head=${cur%,*},
		item=${cur##*,}
	fi
	[[ $item == *=* ]] && return
	local IFS=$'\n'
	COMPREPLY=($(compgen -P "$head" -S = -W "$(_imgtool_create_opts "$fmt")" -- "$item"))
	# "-o help" alone lists the options
	[ -z "$head" ] && [[ help == "$item"* ]] && COMPREPLY+=(help)
	compopt -o nospace 2>/dev/null
}

# _imgtool_offer CUR CMD...: the lines CMD prints that start with CUR, quoted
# for the shell (names read from an image may hold spaces)
_imgtool_offer() {
	local cur=$1 v
	shift
	COMPREPLY=()
	while IFS= read -r v; do
		[[ $v == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$v")")
	done < <("$@")
}

# _imgtool_complete_value CMD OPT ARG CUR: the value of an option
_imgtool_complete_value() {
	local cmd=$1 opt=$2 arg=$3 cur=$4 IFS=$'\n'
	case $arg in
	*'|'*)
		COMPREPLY=($(compgen -W "$(echo "$arg" | tr '|' '\n')" -- "$cur"))
		return ;;
	esac
	case $cmd:$opt in
	bitmap:--merge)
		_imgtool_offer "$cur" _imgtool_bitmaps
		return ;;
	snapshot:-a | snapshot:-d | snapshot:--apply | snapshot:--delete)
		_imgtool_offer "$cur" _imgtool_snapshots
		return ;;
	esac
	case $arg in
	fmt | output_fmt | backing_fmt | source_fmt)
		COMPREPLY=($(compgen -W "$(_imgtool_formats | tr ' ' '\n')" -- "$cur")) ;;
	options)
		_imgtool_complete_create_opts "$cmd" "$cur" ;;
	cache | src_cache | mode)
		COMPREPLY=($(compgen -W $'none\nwriteback\nwritethrough\ndirectsync\nunsafe' -- "$cur")) ;;
	ofmt)
		COMPREPLY=($(compgen -W $'human\njson' -- "$cur")) ;;
	aio)
		COMPREPLY=($(compgen -W $'native\nthreads\nio_uring' -- "$cur")) ;;
	prealloc)
		COMPREPLY=($(compgen -W $'off\nmetadata\nfalloc\nfull' -- "$cur")) ;;
	DIR | dir)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur")) ;;
	*FILE* | *file* | PATH | path | SCRIPT | base | filename)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	[a-z]*)
		# a literal value in lower case (--network virtio, --progress=json)
		case $arg in
		snapshot | snapshot_param | sparse_size | num_workers | offset | len | size | granularity | snapshot_* | \
		count | depth | pattern | buffer_size | step_size | flush_interval) COMPREPLY=() ;;
		*) COMPREPLY=($(compgen -W "$arg" -- "$cur")) ;;
		esac ;;
	*)
		COMPREPLY=() ;;
	esac
}

# dd's operands are NAME=VALUE words (as dd(1)): the names, then files after
# if= and of=
_imgtool_complete_dd_operand() {
	local cur=$1 IFS=$'\n'
	case $cur in
	if=* | of=*)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -P "${cur%%=*}=" -f -- "${cur#*=}")) ;;
	*=*)
		COMPREPLY=() ;;
	*)
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -W $'if=\nof=\nbs=\ncount=\nskip=' -- "$cur")) ;;
	esac
}

_imgtool() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev= cmd=${COMP_WORDS[1]:-} arg opt
	local _imgtool_bin=${COMP_WORDS[0]} _imgtool_spec IFS=$'\n'
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$(_imgtool_commands)"$'\n-h\n--help\n-V\n--version' -- "$cur"))
		return
	fi
	_imgtool_commands | grep -qx -- "$cmd" || return
	_imgtool_spec=$(_imgtool_optspec "$cmd")
	# --opt=value in one word
	if [[ $cur == --*=* ]]; then
		opt=${cur%%=*}
		arg=$(printf '%s\n' "$_imgtool_spec" | awk -v o="$opt" '$1 == o { print $2 }')
		_imgtool_complete_value "$cmd" "$opt" "$arg" "${cur#*=}"
		return
	fi
	# the word after an option that takes a value
	if [[ $prev == -* && $COMP_CWORD -gt 2 ]]; then
		arg=$(printf '%s\n' "$_imgtool_spec" | awk -v o="$prev" '$1 == o { print $2 }')
		if [ -n "$arg" ]; then
			_imgtool_complete_value "$cmd" "$prev" "$arg" "$cur"
			return
		fi
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(printf '%s\n' "$_imgtool_spec" | awk '{ print $1 }')" -- "$cur"))
		return
	fi
	if [ "$cmd" = dd ]; then
		_imgtool_complete_dd_operand "$cur"
		return
	fi
	compopt -o filenames 2>/dev/null
	COMPREPLY=($(compgen -f -- "$cur"))
}

complete -F _imgtool imgtool
