"""Fonts for the pictures' text: English in matplotlib's default font, Korean in NanumGothic.

NanumGothic comes from the optional extra (pip install 'torch_neuron[ko]', which installs the
koreanize-matplotlib package). Its font file is only located, never imported: importing
koreanize_matplotlib would change the global rcParams. The font is applied inside
matplotlib.rc_context only, so the caller's settings are the same before and after a picture.
"""
import contextlib
import importlib.util
import os

LANGS = ("en", "ko")
FONT_PACKAGE, FONT_FILE, FONT_NAME = "koreanize_matplotlib", "NanumGothic.ttf", "NanumGothic"
MISSING_KO = ("Korean text needs the NanumGothic font: pip install 'torch_neuron[ko]' "
              "(or draw in English with lang='en')")


def check_lang(lang):
    """lang itself, if it is one of LANGS; otherwise a ValueError naming the choices."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(map(repr, LANGS))}, got {lang!r}")
    return lang


def korean_font_path():
    """The path of NanumGothic.ttf from the installed extra, or an ImportError naming the extra to install."""
    spec = importlib.util.find_spec(FONT_PACKAGE)  # finds the package without running it
    for folder in (spec and spec.submodule_search_locations) or ():
        path = os.path.join(folder, "fonts", FONT_FILE)
        if os.path.isfile(path):
            return path
    raise ImportError(MISSING_KO)


def _register(path):
    # addfont makes the file findable by name; it touches the font list, not rcParams
    from matplotlib import font_manager

    if not any(f.fname == path for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)


@contextlib.contextmanager
def rc_context(lang="en"):
    """matplotlib.rc_context with the font for lang: draw and save a figure inside it.

    ko: NanumGothic first, then DejaVu Sans for the few signs NanumGothic lacks (−, ŷ), so no glyph
    is missing (glyph fallback needs matplotlib ≥ 3.6). en: the caller's settings, untouched.
    """
    check_lang(lang)
    import matplotlib

    if lang == "en":
        with matplotlib.rc_context():
            yield
        return
    _register(korean_font_path())
    with matplotlib.rc_context({"font.family": [FONT_NAME, "DejaVu Sans"]}):
        yield
