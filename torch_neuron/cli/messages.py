"""What the command prints, in English or Korean (--lang)."""

from ..training import TrainingDiverged

WORDS = {
    "en": dict(
        loss="loss = {loss!r} (mean of 1/2 (y - y_hat)^2 after the last epoch)",
        data="data: x = {x}, y = {y}, n = {n}",
        file="file: {path} ({how})",
        run="device: {device}, dtype: {dtype}, engine: {engine}, epochs: {epochs}, lr: {lr:g}, "
        "batch size: {batch}{shuffled}",
        shuffled=", shuffled",
        time="time: {took} (the fit{reading}, one-time set-up included)",
        reading=" and reading the file",
        saved="saved: {path}",
        plot="plot: {path}",
        animation="animation: {path}",
        diverged="training diverged at lr={lr:g}: each epoch moves (w, b) up to {radius:.3g} times farther from where "
        "they would settle, {growth:.0e} times by about epoch {epoch}; try a smaller --lr",
        overflowed="training diverged at lr={lr:g}: w or b became inf or NaN; try a smaller --lr",
    ),
    "ko": dict(
        loss="loss = {loss!r} (마지막 에포크 후 1/2 (y - ŷ)^2 의 평균)",
        data="데이터: x = {x}, y = {y}, n = {n}",
        file="파일: {path} ({how})",
        run="장치: {device}, dtype: {dtype}, 엔진: {engine}, 에포크: {epochs}, 학습률: {lr:g}, 배치 크기: {batch}{shuffled}",
        shuffled=", 셔플",
        time="시간: {took} (학습{reading}, 처음 한 번의 준비 시간 포함)",
        reading="과 파일 읽기",
        saved="저장: {path}",
        plot="그림: {path}",
        animation="애니메이션: {path}",
        diverged="학습이 발산했습니다(lr={lr:g}): 에포크마다 (w, b)가 수렴할 점에서 최대 {radius:.3g}배씩 멀어져 "
        "약 {epoch} 에포크에 {growth:.0e}배가 됩니다. 더 작은 --lr 을 쓰세요",
        overflowed="학습이 발산했습니다(lr={lr:g}): w 나 b 가 inf 또는 NaN 이 되었습니다. 더 작은 --lr 을 쓰세요",
    ),
}


def diverged(error: TrainingDiverged, lang: str) -> str:
    """The one line for a fit that diverged, in the user's language."""
    from ..training.divergence import GROWTH

    if not error.neurons:
        return str(error)
    d = error.neurons[0]
    key = "diverged" if d.epoch is not None else "overflowed"
    return WORDS[lang][key].format(lr=d.lr, radius=d.radius, epoch=d.epoch, growth=GROWTH)
