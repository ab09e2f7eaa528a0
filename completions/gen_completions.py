#!/usr/bin/env python3
"""Writes the bash and zsh completions of one grafos tool from its own --help (run by meson at
build time, so every subcommand and flag a tool declares is completed, and none drifts).

    gen_completions.py --tool grafos-ca --exe path/to/grafos-ca --bash OUT --zsh OUT

It reads `TOOL --help`, then `TOOL SUB --help` for every subcommand, recursively (CLI11's help
layout: "Options:" and "Subcommands:" sections, entries indented by exactly two spaces,
descriptions continued at a deeper indent). An option whose entry shows a value type (TEXT,
INT, FILE, ...) takes a value: the completions offer file names after it. Exit status 1 when the
tool cannot be run or its help has no Options section.
"""
import argparse
import os
import re
import subprocess
import sys

ENTRY = re.compile(r"^  (\S.*)$")
# CLI11's value type after an option's name (TEXT, INT, FILE, [TEXT], TEXT=default, TEXT:{a,b},
# ...); a flag shows none, or only REQUIRED, (Env:...), Excludes: or Needs:.
VALUE_TYPE = re.compile(r"^\[?(?!REQUIRED\b)[A-Z][A-Z0-9_]*(\b|=|:|\])")
# The choices CLI11 shows for a checked set: TEXT:{auth,admin,tenant}.
CHOICES = re.compile(r":\{([^{}\s]+)\}")


def parse_help(text):
    """(flags, valued flags, subcommands, {flag: choices}) of one --help text."""
    flags, valued, subs, choices = [], [], [], {}
    section = None
    started = False
    for line in text.splitlines():
        if line.startswith("Usage:"):
            started = True
            continue
        if not started:
            continue
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            section = line.rstrip()[:-1]
            continue
        m = ENTRY.match(line)
        if not m:
            continue
        column = re.split(r"\s{2,}", m.group(1), maxsplit=1)[0]
        parts = column.split()
        if section == "Options" and parts[0].startswith("-"):
            names = [n for n in parts[0].split(",") if n.startswith("-")]
            flags += names
            if len(parts) > 1 and VALUE_TYPE.match(parts[1]):
                valued += [n for n in names if n.startswith("--")]
                m = CHOICES.search(parts[1])
                if m:
                    for n in names:
                        choices[n] = m.group(1).split(",")
        elif section == "Subcommands" and not parts[0].startswith("-"):
            subs.append(parts[0])
    return flags, valued, subs, choices


def run_help(exe, path):
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    # A sanitizer build's leak report at exit must not fail the build over a --help.
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
    out = subprocess.run([exe, *path, "--help"], capture_output=True, text=True, env=env,
                         timeout=60)
    if out.returncode != 0:
        sys.exit(f"gen_completions.py: '{exe} {' '.join(path)} --help' exited {out.returncode}")
    return out.stdout


def walk(exe):
    """{"sub path": (flags, valued, subcommands, choices)} for the tool and every subcommand."""
    table = {}
    todo = [[]]
    while todo:
        path = todo.pop(0)
        flags, valued, subs, choices = parse_help(run_help(exe, path))
        if not flags:
            sys.exit(f"gen_completions.py: no options in '{exe} {' '.join(path)} --help'")
        table[" ".join(path)] = (flags, valued, subs, choices)
        todo += [path + [s] for s in subs]
    return table


def key(tool, path):
    """The table key of a subcommand path: the words typed so far, from the tool's name on (bash
    refuses an empty key)."""
    return " ".join([tool] + ([path] if path else []))


def shell_assoc(tool, name, table, index):
    lines = [f"  {name}=("]
    for path, entry in table.items():
        lines.append(f'    ["{key(tool, path)}"]="{" ".join(entry[index])}"')
    lines.append("  )")
    return "\n".join(lines)


def choice_rows(tool, table):
    """[(key "PATH FLAG", "choice ...")] of every option with a fixed set of values."""
    return [(f"{key(tool, p)} {flag}", " ".join(c)) for p, e in table.items()
            for flag, c in e[3].items()]


def bash_script(tool, table):
    fn = "_" + tool.replace("-", "_")
    return f"""# bash completion for {tool}: every subcommand and flag of its --help (generated at build time
# by completions/gen_completions.py). Installed by `meson install` to
# share/bash-completion/completions/{tool}.
{fn}() {{
  local -A subs flags valued
{shell_assoc(tool, "subs", table, 2)}
{shell_assoc(tool, "flags", table, 0)}
{shell_assoc(tool, "valued", table, 1)}
  local -A choices=(
{chr(10).join(f'    ["{k}"]="{v}"' for k, v in choice_rows(tool, table))}
  )
  local cur=${{COMP_WORDS[COMP_CWORD]}} path={tool} w i skip=0 flag=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${{COMP_WORDS[i]}}
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      --*=*) continue ;;
      -*) [[ " ${{valued[$path]}} " == *" $w "* ]] && skip=1 flag=$w; continue ;;
    esac
    [[ " ${{subs[$path]}} " == *" $w "* ]] && path="$path $w"
  done
  if ((skip)) && [ -n "${{choices[$path $flag]}}" ]; then
    COMPREPLY=($(compgen -W "${{choices[$path $flag]}}" -- "$cur"))
    return 0
  elif ((skip)); then
    COMPREPLY=($(compgen -f -- "$cur"))
    compopt -o filenames 2>/dev/null
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "${{flags[$path]}}" -- "$cur"))
  elif [ -n "${{subs[$path]}}" ]; then
    COMPREPLY=($(compgen -W "${{subs[$path]}}" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
    compopt -o filenames 2>/dev/null
  fi
  return 0
}}
complete -F {fn} {tool}
"""


def zsh_script(tool, table):
    def assoc(name, index):
        body = "\n".join(f'  "{key(tool, p)}" "{" ".join(e[index])}"' for p, e in table.items())
        return f"local -A {name}\n{name}=(\n{body}\n)"

    return f"""#compdef {tool}
# zsh completion for {tool}: every subcommand and flag of its --help (generated at build time by
# completions/gen_completions.py). Installed by `meson install` to share/zsh/site-functions.
{assoc("subs", 2)}
{assoc("flags", 0)}
{assoc("valued", 1)}
local -A choices
choices=(
{chr(10).join(f'  "{k}" "{v}"' for k, v in choice_rows(tool, table))}
)
local path_={tool} w i skip=0 flag=""
for ((i = 2; i < CURRENT; i++)); do
  w=${{words[i]}}
  if ((skip)); then skip=0; continue; fi
  case "$w" in
    --*=*) continue ;;
    -*) [[ " ${{valued[$path_]}} " == *" $w "* ]] && skip=1 flag=$w; continue ;;
  esac
  [[ " ${{subs[$path_]}} " == *" $w "* ]] && path_="$path_ $w"
done
if ((skip)) && [[ -n "${{choices[$path_ $flag]}}" ]]; then
  compadd -- ${{=choices[$path_ $flag]}}
elif ((skip)); then
  _files
elif [[ "$PREFIX" == -* ]]; then
  compadd -- ${{=flags[$path_]}}
elif [[ -n "${{subs[$path_]}}" ]]; then
  compadd -- ${{=subs[$path_]}}
else
  _files
fi
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--exe", required=True)
    ap.add_argument("--bash", required=True)
    ap.add_argument("--zsh", required=True)
    a = ap.parse_args()
    table = walk(a.exe)
    with open(a.bash, "w", encoding="utf-8") as f:
        f.write(bash_script(a.tool, table))
    with open(a.zsh, "w", encoding="utf-8") as f:
        f.write(zsh_script(a.tool, table))


if __name__ == "__main__":
    main()
