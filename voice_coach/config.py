"""The saved setup: which microphone and speaker, how loud, which voice, which button.

One small TOML file in the user's config dir (platformdirs: ~/.config/voice-coach/config.toml
on Linux; VOICE_COACH_CONFIG=FILE puts it elsewhere). `voice-coach setup` writes it; `run`,
`check` and the service read it; a command-line option always wins over it. Validated strictly
like the content: an unknown key or a wrong type is one line naming the file and the key.
"""

from __future__ import annotations

import json
import os
import tomllib
from argparse import Namespace
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from voice_coach.errors import EXIT_USAGE, UserError


@dataclass
class Config:
    input: str | None = None  # microphone name (names survive a replug; indexes do not)
    output: str | None = None  # speaker name
    volume: float | None = None  # 0.0-1.0, the voice's level
    voice: str | None = None  # as --voice
    button: str | None = None  # as --button
    input_rate: int | None = None  # what setup measured, for `check` to report
    output_rate: int | None = None


_TYPES = {"input": str, "output": str, "volume": float, "voice": str, "button": str, "input_rate": int, "output_rate": int}


def config_path() -> Path:
    env = os.environ.get("VOICE_COACH_CONFIG")
    if env:
        return Path(env)
    from platformdirs import user_config_dir  # noqa: PLC0415

    return Path(user_config_dir("voice-coach")) / "config.toml"


def load(path: Path | None = None) -> Config:
    """The saved config, or an empty one if there is no file."""
    path = path or config_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read it ({e}); run `voice-coach setup` again", EXIT_USAGE) from e
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: not valid TOML ({e}); run `voice-coach setup` again", EXIT_USAGE) from e
    values = {}
    for key, value in raw.items():
        want = _TYPES.get(key)
        if want is None:
            raise UserError(f"{path}: unknown key {key!r} (known: {', '.join(_TYPES)})", EXIT_USAGE)
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or isinstance(value, bool):
            raise UserError(f"{path}: {key} must be a {want.__name__}, not {value!r}", EXIT_USAGE)
        values[key] = value
    cfg = Config(**values)
    if cfg.volume is not None and not 0.0 <= cfg.volume <= 1.0:
        raise UserError(f"{path}: volume must be between 0.0 and 1.0, not {cfg.volume}", EXIT_USAGE)
    return cfg


def save(cfg: Config, path: Path | None = None) -> Path:
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by `voice-coach setup`. Options on the command line override these."]
    for key, value in asdict(cfg).items():
        if value is None:
            continue
        # A JSON string is a valid TOML basic string; numbers are the same in both.
        lines.append(f"{key} = {json.dumps(value)}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def apply_saved(args: Namespace, cfg: Config | None = None) -> Config:
    """Fill options the user did not give from the saved config; returns the config used."""
    cfg = cfg if cfg is not None else load()
    for f in fields(Config):
        if hasattr(args, f.name) and getattr(args, f.name) is None and getattr(cfg, f.name) is not None:
            setattr(args, f.name, getattr(cfg, f.name))
    return cfg
