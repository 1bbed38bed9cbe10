"""Fonts for the pictures' text: English in matplotlib's default font, Korean in NanumGothic.

NanumGothic comes from the optional extra (pip install 'torch_neuron[ko]', which installs the
koreanize-matplotlib package). Its font file is only located, never imported: importing
koreanize_matplotlib would change the global rcParams. The font is applied inside
matplotlib.rc_context only, so the caller's settings are the same before and after a picture.
"""

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from typing import Any

LANGS = ("en", "ko")
FONT_PACKAGE, FONT_FILE, FONT_NAME = "koreanize_matplotlib", "NanumGothic.ttf", "NanumGothic"
KO_FAMILY = [FONT_NAME, "DejaVu Sans"]  # DejaVu Sans for the few signs NanumGothic lacks (−, ŷ)
MISSING_KO = (
    "Korean text needs the NanumGothic font: pip install 'torch_neuron[ko]' (or draw in English with lang='en')"
)


def check_lang(lang: str) -> str:
    """lang itself, if it is one of LANGS; otherwise a ValueError naming the choices."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(map(repr, LANGS))}, got {lang!r}")
    return lang


def korean_font_path() -> str:
    """The path of NanumGothic.ttf from the installed extra, or an ImportError naming the extra to install."""
    spec = importlib.util.find_spec(FONT_PACKAGE)  # finds the package without running it
    for folder in (spec and spec.submodule_search_locations) or ():
        path = os.path.join(folder, "fonts", FONT_FILE)
        if os.path.isfile(path):
            return path
    raise ImportError(MISSING_KO)


def _register(path: str) -> None:
    # addfont makes the file findable by name; it touches the font list, not rcParams
    from matplotlib import font_manager

    if not any(f.fname == path for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)


@contextlib.contextmanager
def rc_context(lang: str = "en") -> Iterator[None]:
    """matplotlib.rc_context with the font for lang: draw and save a figure inside it.

    ko: NanumGothic first, then DejaVu Sans for the few signs NanumGothic lacks (−, ŷ), so no glyph
    is missing (glyph fallback needs matplotlib ≥ 3.6). en: the caller's settings, untouched.
    Texts made before (an Axes' title, made with the Axes) keep their font: see set_font.
    """
    check_lang(lang)
    import matplotlib

    if lang == "en":
        with matplotlib.rc_context():
            yield
        return
    _register(korean_font_path())
    with matplotlib.rc_context({"font.family": KO_FAMILY}):
        yield


def set_font(artist: Any, lang: str) -> None:
    """Give every text already on artist (an Axes, a Figure) the font for lang; 'en' changes nothing.

    A text's font is fixed when the text is made, so an Axes made outside rc_context('ko') would
    draw its Korean title in the default font, as boxes.
    """
    if check_lang(lang) == "en":
        return
    from matplotlib.text import Text

    for text in artist.findobj(Text):
        text.set_fontfamily(KO_FAMILY)
