# Line-based ini editing with the semantics of devstack's inc/ini-config,
# behind the stand-in's iniset, iniget, iniadd, ... (ini-config) so that
# plugin.sh writes real files the way devstack would:
#  - a section runs from its header line to the next line starting with '[';
#  - an option line is "name = value" (any blanks around '=');
#  - set replaces the value on every line of the option in the section, or
#    inserts "name = value" right after the header (a missing section is
#    added at the end, after a blank line);
#  - set-multi and add write one line per value, in order, right after the
#    header;
#  - delete removes the option's lines (a missing section: no change);
#  - get prints the first value, get-multi all values on one line.
# Usage: INI_VALUES=V1<US>V2... awk -v cmd=CMD -v section=S -v option=O
# -f ini.awk FILE  (<US> = \037; values come from the environment so that
# awk does not interpret backslashes in them).  get, get-multi and has
# print or exit 0/1; set, set-multi, add and delete print the new file.

function is_option(line) {
    return substr(line, 1, length(option)) == option &&
        substr(line, length(option) + 1) ~ /^[ \t]*=/
}

function value_of(line) {
    sub(/^[^=]*=[ \t]*/, "", line)
    sub(/[ \t]+$/, "", line)
    return line
}

# print the file, dropping the option's lines when drop is set and adding
# "option = V" for each of the n values in new[] right after the header
function emit(drop, n, i, k) {
    if (!start && !n) {
        for (i = 1; i <= nlines; i++) print lines[i]
        return
    }
    if (!start) {
        for (i = 1; i <= nlines; i++) print lines[i]
        print ""
        print "[" section "]"
        for (k = 1; k <= n; k++) print option " = " new[k]
        return
    }
    for (i = 1; i <= nlines; i++) {
        if (drop && i > start && i < end && is_option(lines[i])) continue
        print lines[i]
        if (i == start)
            for (k = 1; k <= n; k++) print option " = " new[k]
    }
}

{ lines[++nlines] = $0 }

END {
    values = ENVIRON["INI_VALUES"]
    nvals = values == "" ? 0 : split(values, vals, "\037")
    start = 0
    end = nlines + 1
    for (i = 1; i <= nlines && !start; i++)
        if (index(lines[i], "[" section "]") == 1) start = i
    if (start)
        for (i = start + 1; i <= nlines; i++)
            if (substr(lines[i], 1, 1) == "[") { end = i; break }
    nfound = 0
    if (start)
        for (i = start + 1; i < end; i++)
            if (is_option(lines[i])) { found[++nfound] = i; cur[nfound] = value_of(lines[i]) }

    if (cmd == "get") {
        print nfound ? cur[1] : ""
    } else if (cmd == "get-multi") {
        out = ""
        for (k = 1; k <= nfound; k++) out = out (k > 1 ? " " : "") cur[k]
        print out
    } else if (cmd == "has") {
        exit nfound ? 0 : 1
    } else if (cmd == "set" && nfound) {
        for (k = 1; k <= nfound; k++) {
            line = lines[found[k]]
            match(line, /^[^=]*=[ \t]*/)
            lines[found[k]] = substr(line, 1, RLENGTH) vals[1]
        }
        emit(0, 0)
    } else if (cmd == "set") {
        new[1] = vals[1]
        emit(0, 1)
    } else if (cmd == "set-multi") {
        for (k = 1; k <= nvals; k++) new[k] = vals[k]
        emit(1, nvals)
    } else if (cmd == "add") {
        for (k = 1; k <= nfound; k++) new[k] = cur[k]
        for (k = 1; k <= nvals; k++) new[nfound + k] = vals[k]
        emit(1, nfound + nvals)
    } else if (cmd == "delete") {
        emit(1, 0)
    } else {
        print "ini.awk: unknown command " cmd > "/dev/stderr"
        exit 2
    }
}
