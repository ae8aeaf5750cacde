#!/usr/bin/env bash
# Rules clang-format cannot express (STYLE.md 3.12): banned calls, the
# floors of docs/architecture.md, comment style, and file/function length warnings. Exits
# non-zero on a violation; length findings are warnings only.
set -uo pipefail
cd "$(dirname "$0")/.."

fail=0
report() { echo "check-style: $*"; fail=1; }
# Source with comments and string literals blanked, line numbers kept.
strip_comments() {
  perl -0777 -pe 's{/\*.*?\*/}{ (my $c = $&) =~ s/[^\n]//g; $c }gse; s{"(?:\\.|[^"\\\n])*"}{""}g; s{//[^\n]*}{}g' "$1"
}

c_files=$(git ls-files 'src/*.c' 'src/*.h' 'src/**/*.c' 'src/**/*.h' 'fuzz/*.c' 'tests/unit/*.c' 'tests/unit/**/*.c' 2>/dev/null | sort -u)
[ -z "$c_files" ] && c_files=$(find src fuzz tests/unit -name '*.[ch]' | sort)

# 1. Banned functions (curl's list, STYLE.md 3.7): unbounded copies and
#    libc number parsers. Matched as calls, outside comments and strings.
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtol|strtoul|strtoll|strtoull|strtod|sscanf|strtok|strncpy|strncat|tmpnam|asctime|ctime|gmtime|localtime)[[:space:]]*\('
for f in $c_files; do
  hits=$(strip_comments "$f" | grep -nE "$banned" || true)
  if [ -n "$hits" ]; then
    while IFS= read -r h; do report "$f:${h%%:*}: banned call: $(echo "${h#*:}" | grep -oE "$banned" | head -1)"; done <<< "$hits"
  fi
done

# 2. Floors (docs/architecture.md "Floors"): an include may go down a floor
#    or stay inside its own unit, never up and never sideways, except the
#    sideways uses that page lists. The two tables are read from the page,
#    so the page is the rule. Includes spelled from src/ ("http/request.h",
#    "worker.h"); comments and string literals never hold an #include line.
#
#    floors_allow_tmp: a temporary allowance (one "file include" per line)
#    while a restructuring is half merged; empty when the tree holds. A
#    line that no longer matches anything is reported.
floors_allow_tmp=''
floors=$(FLOORS_ALLOW="$floors_allow_tmp" perl - docs/architecture.md $(echo "$c_files" | grep '^src/') <<'PERL'
use strict;
use warnings;
my ($doc, @files) = @ARGV;
open(my $fh, '<', $doc) or do { print "$doc: cannot read\n"; exit 1 };
my (%floor, %unit, %sideways, $table);
my $n = 0;
while (my $line = <$fh>) {
    $n++;
    #   A table ends at the first line that is not a row.
    $table = undef, next unless $line =~ /^\s*\|/;
    my @c = map { s/^\s+|\s+$//gr } split /\|/, $line;
    shift @c;
    if (!defined $table || $table eq '') {
        $table = $c[0] =~ /^floor$/i && ($c[1] // '') =~ /^units$/i ? 'floors'
               : $c[0] =~ /^from$/i && ($c[1] // '') =~ /^may include$/i ? 'sideways' : '-';
        next;
    }
    next if $line =~ /^[\s|:-]+$/;
    if ($table eq 'floors') {
        my ($fl, @names) = ($c[0], $c[1] =~ /`([^`]+)`/g);
        print "$doc:$n: floor '$fl' is not a number\n" unless $fl =~ /^\d+$/;
        for my $u (@names) {
            #   A folder is its own unit; a floor's top-level files are one.
            my $key = $u =~ m{/$} ? $u : ($u =~ s/\.[ch]$//r);
            $floor{$key} = $fl;
            $unit{$key} = $u =~ m{/$} ? $u : "top-$fl";
        }
    } elsif ($table eq 'sideways') {
        my ($from) = $c[0] =~ /`([^`]+)`/;
        $sideways{"$from $_"} = 1 for $c[1] =~ /`([^`]+)`/g;
    }
}
close $fh;
print "$doc: no floor table (| floor | units | ...) under \"## Floors\"\n" unless %floor;
my %tmp = map { $_ => 0 } grep { /\S/ } split /\n/, $ENV{FLOORS_ALLOW} // '';
#   "http/request.h" -> "http/"; "worker.h" -> "worker".
sub key_of { my $p = shift; return $p =~ m{^([^/]+/)} ? $1 : ($p =~ s/\.[ch]$//r) }
sub name_of { my $k = shift; return $k =~ m{/$} ? $k : "$k.{c,h}" }
#   How a message names a side: the folder, or the top-level file itself.
sub side { my ($k, $file) = @_; return ($k =~ m{/$} ? $k : $file) . " (floor $floor{$k})" }
my $bad = 0;
for my $f (@files) {
    (my $rel = $f) =~ s{^src/}{};
    my $from = key_of($rel);
    if (!defined $floor{$from}) {
        print "$f: " . name_of($from) . " has no floor in $doc; add it to the table\n";
        $bad = 1;
        next;
    }
    open(my $in, '<', $f) or next;
    my $ln = 0;
    while (my $l = <$in>) {
        $ln++;
        next unless $l =~ /^\s*#\s*include\s+"([^"]+)"/;
        my $inc = $1;
        my $to = key_of($inc);
        my $why;
        if (!defined $floor{$to}) {
            $why = name_of($to) . " has no floor in $doc";
        } elsif ($floor{$to} > $floor{$from}) {
            $why = side($from, $rel) . " may not use " . side($to, $inc) . ", a floor above";
        } elsif ($floor{$to} == $floor{$from} && $unit{$to} ne $unit{$from} && !$sideways{"$from $inc"}) {
            $why = side($from, $rel) . " may not use " . side($to, $inc) . " sideways";
        }
        next unless defined $why;
        if (exists $tmp{"$f $inc"}) {
            $tmp{"$f $inc"}++;
            next;
        }
        print "$f:$ln: includes \"$inc\": $why\n";
        $bad = 1;
    }
    close $in;
}
for (sort grep { !$tmp{$_} } keys %tmp) {
    print "warning: temporary floors allowance no longer needed, remove it: $_\n";
}
exit $bad;
PERL
)
floors_rc=$?
if [ -n "$floors" ]; then
  while IFS= read -r line; do
    case "$line" in warning:*) echo "check-style: $line" ;; *) report "$line" ;; esac
  done <<< "$floors"
fi
[ "$floors_rc" -ne 0 ] && [ -z "$floors" ] && report "the floors check could not run"

# 3. Pure modules do no I/O: no libevent, curl multi, or store.
for f in src/seal.c src/grants.c src/oauth/redirect_uri.c src/http/client_ip.c src/oauth/resource.c; do
  [ -f "$f" ] || continue
  bad=$(grep -nE '#include [<"](event2/|curl/curl.h|store/|worker.h)' "$f" || true)
  [ -n "$bad" ] && report "$f: pure module must not include I/O headers: $bad"
done

# 4. Third-party headers stay in their one home (STYLE.md 3.2).
for f in $c_files; do
  case "$f" in src/oidc/*|src/base/xalloc.c|fuzz/*|tests/*) ;; *)
    grep -qE '#include <cjose/' "$f" && report "$f: cjose is included only in src/oidc/";;
  esac
  case "$f" in src/store/redis*.c|fuzz/*|tests/*) ;; *)
    grep -qE '#include <hiredis' "$f" && report "$f: hiredis is included only in src/store/redis*.c";;
  esac
  case "$f" in src/fetch.c|src/base/url.c|src/oidc/*|src/doctor/http.c|fuzz/*|tests/*) ;; *)
    grep -qE '#include <curl/' "$f" && report "$f: curl is included only in fetch.c, base/url.c and doctor/http.c";;
  esac
done
for f in $(echo "$c_files" | grep -E '^src/.*\.h$'); do
  grep -qE '#include <(jansson|cjose/|hiredis|curl/|event2/|llhttp|openssl/)' "$f" &&
    report "$f: headers forward-declare library types instead of including them"
done

# 5. Committed comments use /* */; // marks temporary debugging.
for f in $c_files; do
  hits=$(sed -e 's/"[^"]*"//g' "$f" | grep -nE '(^|[^:"])//' | grep -vE 'https?://|[a-z]+://' || true)
  [ -n "$hits" ] && report "$f: '//' comment (use /* */): $(echo "$hits" | head -1)"
done

# 6. Every header has #pragma once.
for f in $(echo "$c_files" | grep '\.h$'); do
  grep -q '^#pragma once' "$f" || report "$f: missing #pragma once"
done

# 6b. Layout is clang-format's (STYLE.md 3.13): any difference fails.
if command -v clang-format >/dev/null 2>&1; then
  for f in $c_files; do
    [ -f "$f" ] || continue
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 ||
      report "$f: not formatted; run: clang-format -i $f"
  done
else
  report "clang-format is missing (scripts/install-deps.sh installs it)"
fi

# 6c. Build lists name every file (issue 10): a source, unit test or fuzz
#     target that exists but is not listed would silently not be built.
listed() { grep -oE "'[^']+'" "$1" | tr -d "'"; }
for f in $(git ls-files 'src/*.c' 'src/**/*.c' 2>/dev/null); do
  rel=${f#src/}
  [ "$rel" = main.c ] && continue
  listed src/meson.build | grep -qxF "$rel" || report "$f: not in src/meson.build's lib_sources"
done
for f in $(git ls-files 'tests/unit/test_*.c' 2>/dev/null); do
  t=$(basename "$f" .c); t=${t#test_}
  listed tests/unit/meson.build | grep -qxF "$t" || report "$f: not in tests/unit/meson.build's unit_tests"
done
for f in $(git ls-files 'fuzz/fuzz_*.c' 2>/dev/null); do
  t=$(basename "$f" .c); t=${t#fuzz_}
  listed fuzz/meson.build | grep -qxF "$t" || report "$f: not in fuzz/meson.build's fuzz_targets"
done

# 7. Length warnings (not failures): files past 800 lines, functions past 80.
for f in $(echo "$c_files" | grep '^src/.*\.c$'); do
  n=$(wc -l < "$f")
  [ "$n" -gt 800 ] && echo "check-style: warning: $f has $n lines (split past ~800)"
  awk -v f="$f" '
    /^[a-z_][a-z0-9_]*\(/ { name=$1; sub(/\(.*/, "", name); start=NR }
    /^\{/ { if (start) open=NR }
    /^\}/ { if (open && NR-open > 80) printf "check-style: warning: %s: %s is %d lines\n", f, name, NR-open; open=0; start=0 }
  ' "$f"
done

# 8. Every test docs/threat-model.md and docs/conformance.md cite exists, so
#    a row cannot claim a defence (or a requirement met) with a test that was
#    renamed or never written. In a table's
#    "tests" column (and in prose after a test file's name): `test_x.c`
#    then `function` (defined and registered in main), or `vector` (text
#    in that file: any backticked word in parentheses, or not a name); `x.test.mjs` then `'title'` or "title" (a
#    title ending in ... is a prefix; ${...} in a template title stands
#    for text that appears in the file); `target/seed` or a bare `seed`
#    after it (globs allowed) under fuzz/corpus/. A citation runs to the
#    next ';' or sentence end outside parentheses.
check_citations() {
local doc=$1 citations
citations=$(perl - "$doc" <<'PERL'
use strict;
use warnings;
binmode STDOUT, ':encoding(UTF-8)';
my $doc = shift;
my $bad = 0;
sub slurp {
    open(my $fh, '<:encoding(UTF-8)', $_[0]) or return undef;
    local $/;
    my $s = <$fh>;
    return $s;
}
sub miss { print "$doc:$_[0]: $_[1]\n"; $bad = 1 }

my (%unit, %e2e);
sub unit_file {
    my $f = shift;
    return $unit{$f} if exists $unit{$f};
    my $src = slurp("tests/unit/$f");
    return $unit{$f} = undef unless defined $src;
    my %defs = map { $_ => 1 } $src =~ /^(?:static\s+void\s+)?([A-Za-z_]\w*)\s*\(\s*void\s*\*\*[^;\n]*$/mg;
    my ($main) = $src =~ /^(?:int\s+)?main\s*\((.*)\z/ms;
    return $unit{$f} = { src => $src, defs => \%defs, main => $main // '' };
}
sub js_unescape {
    my $s = shift;
    $s =~ s{\\(?:u\{([0-9a-fA-F]+)\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|(.))}{
        defined $1 ? chr(hex $1) : defined $2 ? chr(hex $2) : defined $3 ? chr(hex $3)
        : $4 eq 'n' ? "\n" : $4 eq 't' ? "\t" : $4 }gse;
    return $s;
}
sub e2e_file {
    my $f = shift;
    return $e2e{$f} if exists $e2e{$f};
    my $src = slurp("tests/e2e/$f");
    return $e2e{$f} = undef unless defined $src;
    my @titles;
    while ($src =~ /(?:(?<![\w.\$])(?:test|it|describe|suite)|(?<![\w.\$])t\.test)(?:\.only|\.skip|\.todo)?\s*\(\s*('(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`)/gs) {
        my $lit = $1;
        my $body = substr($lit, 1, -1);
        my @parts = substr($lit, 0, 1) eq '`'
            ? split(/\$\{(?:[^{}]|\{[^{}]*\})*\}/, $body, -1) : ($body);
        push @titles, { raw => $body, parts => [map { js_unescape($_) } @parts] };
    }
    return $e2e{$f} = { src => $src, titles => \@titles };
}
# A template's holes must be filled with text the file holds (a vector's
# name, a status), so `refused: oversize header -> 431 ...` is checked too.
sub template_match {
    my ($e, $p, $cited, $prefix) = @_;
    my @res;
    my $head = '^';
    for my $i (0 .. $#$p) {
        my $lit = $p->[$i];
        if ($i == $#$p) {
            push @res, $head . quotemeta($lit) . '$';
        }
        if ($prefix) {
            push @res, $head . quotemeta(substr($lit, 0, $_)) . '$' for 0 .. length($lit) - 1;
            push @res, $head . quotemeta($lit) . '(.+)$' if $i < $#$p;
        }
        $head .= quotemeta($lit) . '(.+?)';
    }
    for my $re (@res) {
        $cited =~ /$re/ or next;
        my @holes = map { substr($cited, $-[$_], $+[$_] - $-[$_]) =~ s/^\s+|\s+$//gr } 1 .. $#-;
        return 1 unless grep { length && index($e->{src}, $_) < 0 } @holes;
    }
    return 0;
}
sub title_found {
    my ($e, $cited) = @_;
    my $prefix = $cited =~ s/\s*(?:\.\.\.|\x{2026})\z//;
    for my $t (@{$e->{titles}}) {
        my @forms = ($t->{raw}, @{$t->{parts}} == 1 ? ($t->{parts}[0]) : ());
        for (@forms) { return 1 if $prefix ? index($_, $cited) == 0 : $_ eq $cited }
        return 1 if @{$t->{parts}} > 1 && template_match($e, $t->{parts}, $cited, $prefix);
    }
    return 0;
}

sub check_text {
    my ($ln, $text, $col) = @_;
    my ($kind, $name) = ('', '');
    my ($end, $depth) = (0, 0);
    while ($text =~ /(`+)(.+?)(?<!`)\1(?!`)|(?<![\w.\/-])(test_\w+\.c|[\w-]+\.test\.mjs)\b|"([^"\n]+)"/g) {
        my ($code, $bare, $dq) = ($2, $3, $4);
        #   A citation runs to the next ';' or the end of a sentence,
        #   outside parentheses (notes may hold either).
        my $gap = substr($text, $end, $-[0] - $end);
        $end = $+[0];
        while ($gap =~ /([()]|;|\.(?=\s|$))/g) {
            if ($1 eq '(') { $depth++ } elsif ($1 eq ')') { $depth-- if $depth > 0 } elsif ($depth == 0) { $kind = '' }
        }
        $code =~ s/^ (.*) $/$1/ if defined $code;
        my $tok = $code // $bare;
        if (defined $tok && $tok =~ /^test_\w+\.c$/) {
            ($kind, $name) = ('unit', $tok);
            unless (unit_file($tok)) { miss($ln, "tests/unit/$tok does not exist"); $kind = 'gone' }
        } elsif (defined $tok && $tok =~ /^[\w-]+\.test\.mjs$/) {
            ($kind, $name) = ('e2e', $tok);
            unless (e2e_file($tok)) { miss($ln, "tests/e2e/$tok does not exist"); $kind = 'gone' }
        } elsif (defined $dq || (defined $code && $code =~ /^(['"]).*\1$/s)) {
            my $title = $dq // substr($code, 1, -1);
            if ($kind eq 'e2e') {
                miss($ln, "$name: no test titled '$title'") unless title_found(e2e_file($name), $title);
            } elsif ($col && defined $code && $kind ne 'gone') {
                miss($ln, "'$title' cited with no *.test.mjs file before it");
            }
        } elsif (!defined $code) {
            #   a double-quoted phrase outside an e2e citation: prose
        } elsif ($code =~ m{^(?:tests|fuzz|src|docs|scripts)/}) {
            my @hits = glob($code);
            miss($ln, "$code does not exist") unless @hits && -e $hits[0];
        } elsif ($col && $code =~ m{^(\w+)/([^\s/]+)$}) {
            ($kind, $name) = ('fuzz', $1);
            if (-d "fuzz/corpus/$1") {
                my @hits = grep { -f } glob("fuzz/corpus/$1/$2");
                miss($ln, "no fuzz seed fuzz/corpus/$code") unless @hits;
            } else {
                miss($ln, "no fuzz target fuzz/corpus/$1/");
                $kind = 'gone';
            }
        } elsif ($kind eq 'fuzz' && $code =~ /^[\w.*?-]+$/) {
            my @hits = grep { -f } glob("fuzz/corpus/$name/$code");
            miss($ln, "no fuzz seed fuzz/corpus/$name/$code") unless @hits;
        } elsif ($kind eq 'unit' && $depth == 0 && $code =~ /^[A-Za-z_]\w*$/) {
            my $u = unit_file($name);
            if (!$u->{defs}{$code}) {
                miss($ln, "$name: no test function $code");
            } elsif ($u->{main} !~ /\b\Q$code\E\b/) {
                miss($ln, "$name: $code is defined but never run (not in main's list)");
            }
        } elsif ($kind eq 'unit' && $code ne '...') {
            miss($ln, "$name: no vector '$code'") if index(unit_file($name)->{src}, $code) < 0;
        } elsif ($col && $kind eq '' && $code =~ /^test_\w+$/) {
            miss($ln, "$code cited with no test_<file>.c before it");
        }
    }
}

my $text = slurp($doc) // die "$doc: cannot read\n";
my ($col, $header) = (-1, 1);
my $n = 0;
for my $line (split /\n/, $text) {
    $n++;
    if ($line =~ /^\s*\|/) {
        (my $row = $line) =~ s/^\s*\||\|\s*$//g;
        my @cells = map { s/\\\|/|/gr } split /(?<!\\)\|/, $row, -1;
        if ($header) {
            $header = 0;
            $col = -1;
            for my $i (0 .. $#cells) { $col = $i if $cells[$i] =~ /^\s*tests?\s*$/i }
            next;
        }
        next if $line =~ /^[\s|:-]+$/;
        if ($col >= 0) {
            check_text($n, $cells[$col] // '', 1);
        } else {
            # No "tests" column: a cell that names a test file is prose.
            for my $cell (@cells) {
                check_text($n, $cell, 0) if $cell =~ /test_\w+\.c|\.test\.mjs/;
            }
        }
    } else {
        $header = 1;
        check_text($n, $line, 0) if $line =~ /test_\w+\.c|\.test\.mjs/;
    }
}
exit $bad;
PERL
)
if [ $? -ne 0 ]; then
  [ -z "$citations" ] && citations="$doc: the citation check could not run"
  while IFS= read -r line; do report "$line"; done <<< "$citations"
fi
}
check_citations docs/threat-model.md
check_citations docs/conformance.md

if [ "$fail" -ne 0 ]; then
  echo "check-style: FAILED"
  exit 1
fi
echo "check-style: ok"
