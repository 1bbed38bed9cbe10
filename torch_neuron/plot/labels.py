"""The words on the pictures, in English and in Korean (the book's terms: 가중치, 절편, 에포크, 학습률 …).

words(lang)[key] is a str.format template; the keys of both languages are the same (a test checks it).
In a text with $…$ matplotlib draws the plain parts in the first font only (no fallback), and NanumGothic
has no '−' (U+2212): there, minus signs go inside the $…$.
"""

from .fonts import check_lang

EN = {
    # plot_fit: data panel
    "data": "data",
    "after_epoch": "after epoch {epoch}: {eq}",
    "least_squares_eq": "least squares: {eq}",
    "data_title": "Data and the fitted line",
    # plot_fit: loss panel
    "loss_per_epoch": "loss after each epoch",
    "best_loss": "least-squares minimum ({loss})",
    "gap": "gap {gap}",
    "epoch": "epoch",
    "mean_loss": "mean loss  $½(y - \\hat{{y}})^2$",
    "loss_title": "Loss per epoch (last: {loss})",
    # plot_fit: loss surface
    "surface_bar": "mean loss L(w, b)",
    "path_epochs": "(w, b) after each epoch",
    "start": "start ({w}, {b})",
    "settles": "SGD settles ({w:.1f}, {b:.1f})",
    "least_squares_at": "least squares ({w:.1f}, {b:.1f})",
    "epoch_1": "epoch 1",
    "w_axis": "w (weight)",
    "b_axis": "b (intercept)",
    "surface_title": "Loss surface L(w, b) and the path of (w, b)",
    "fit_title": "One neuron $\\hat{{y}}$ = w·x + b: {epochs} epochs of gradient descent",
    "run_title": "{y} ≈ w·{x} + b: {epochs} epochs, lr {lr:g}, batch {batch}",
    "caption": "Why SGD stops short of the optimum: with a fixed step every sample still moves (w, b), so within "
    "an epoch they jump over a wide cloud that is not centred on the optimum (a limit cycle);\nthe end of every epoch "
    "lands on the same point of that cycle, near the optimum but not at it. Only a step that decays "
    "toward zero brings SGD onto the optimum.",
    # plot_limit_cycle
    "cycle_bar": "sample number in the epoch",
    "cycle_start": "epoch start (the fit's end)",
    "cycle_end": "epoch end",
    "cycle_mean": "mean over the epoch ({w:.1f}, {b:.1f})",
    "cycle_title": "(w, b) after each sample of one more epoch (lr = {lr:g})",
    "after_sample": "after sample {k}: {eq}",
    "lines_title": "The line after each of the last {last} samples (dot: that sample)",
    "cycle_suptitle": "Why per-sample SGD never settles: each step pulls the line (almost) through the sample "
    "it just saw",
    "cycle_caption": "A step on sample i leaves the error there at $err_i\\,(1 - lr\\,(1 + x_i^2))$: with lr = 1 "
    "and small x that is nearly 0, so (w, b) chases each sample in turn\nand the epoch ends "
    "wherever the last samples pulled it: the same point every epoch (the limit cycle closes), "
    "but not the optimum.",
    # animate_fit
    "line_now": "the line now: {eq}",
    "sample_now": "the sample just used",
    "path_steps": "(w, b) after each step of epoch 1",
    "anim_start": "the start: w = {w:g}, b = {b:g}",
    "anim_step": "epoch 1, step {step} of {steps}: each step pulls the line toward its sample",
    "anim_epoch": "epoch {epoch} of {epochs}: (w, b) at the end of each epoch",
    "anim_title": "Gradient descent, {what}",
    "sample_by_sample": "sample by sample",
    "batch_by_batch": "{batch} samples a step",
    # explore: the live explorer's figure and its controls
    "explore_settings": "lr {lr:.3g}, {epochs} epochs, batch {batch}, {order}",
    "in_order": "samples in order",
    "shuffled": "shuffled (seed {seed})",
    "explore_result": "{settings}:  w = {w:.3f}, b = {b:.3f}, loss {loss:,.1f}",
    "explore_diverged": "{settings}:  training diverged",
    "blowup_caption": "Diverged: the loss passed {limit:g}× its start at step {step} (epoch {epoch}), at w = {w:.4g}, "
    "b = {b:.4g} (loss {loss:.4g}).\nDrawn: the book's loop run step by step up to there, where it "
    "blew up. A smaller lr converges.",
    "growth_caption": "Diverged: the fit grows without bound (tn.fit stops it). Drawn: the book's loop run step by "
    "step,\nits first {step} steps (the loss ×{ratio:.3g}, ending at w = {w:.4g}, b = {b:.4g}). "
    "A smaller lr converges.",
    "after_step": "after step {step}: {eq}",
    "loss_per_step": "loss after each step",
    "step": "step",
    "loss_title_steps": "Loss per step (last: {loss})",
    "path_each_step": "(w, b) after each step",
    "blew_up": "blew up here ({w:.3g}, {b:.3g})",
    "last_step": "after step {step} ({w:.3g}, {b:.3g})",
    "step_1": "step 1",
    "lr_slider": "learning rate",
    "epochs_slider": "epochs",
    "batch_slider": "batch size",
    "shuffle_box": "shuffle",
    "seed_box": "seed",
}

KO = {
    "data": "데이터",
    "after_epoch": "{epoch} 에포크 후: {eq}",
    "least_squares_eq": "최소제곱 해: {eq}",
    "data_title": "데이터와 학습된 직선",
    "loss_per_epoch": "에포크마다의 손실",
    "best_loss": "최소제곱 해의 손실 ({loss})",
    "gap": "차이 {gap}",
    "epoch": "에포크",
    "mean_loss": "평균 손실  $½(y - \\hat{{y}})^2$",
    "loss_title": "에포크별 손실 (마지막: {loss})",
    "surface_bar": "평균 손실 L(w, b)",
    "path_epochs": "에포크마다의 (w, b)",
    "start": "시작점 ({w}, {b})",
    "settles": "SGD가 머무는 곳 ({w:.1f}, {b:.1f})",
    "least_squares_at": "최소제곱 해 ({w:.1f}, {b:.1f})",
    "epoch_1": "1 에포크",
    "w_axis": "w (가중치)",
    "b_axis": "b (절편)",
    "surface_title": "손실 곡면 L(w, b)와 (w, b)의 경로",
    "fit_title": "뉴런 하나 $\\hat{{y}}$ = w·x + b: 경사 하강법 {epochs} 에포크",
    "run_title": "{y} ≈ w·{x} + b: {epochs} 에포크, 학습률 {lr:g}, 배치 크기 {batch}",
    "caption": "SGD가 최적점에 닿지 못하는 이유: 학습률이 고정되어 있으면 샘플마다 (w, b)가 계속 움직이므로, "
    "한 에포크 동안 최적점을 중심으로 하지 않는 넓은 구름 위를 뛰어다니는 한계 순환(limit cycle)에 머뭅니다.\n모든 에포크는 그 "
    "순환의 같은 점에서 끝나므로 최적점 가까이에 있지만 최적점은 아닙니다. 학습률을 0으로 줄여 가야만 "
    "SGD가 최적점에 도달합니다.",
    "cycle_bar": "에포크 안에서의 샘플 번호",
    "cycle_start": "에포크 시작 (훈련이 끝난 곳)",
    "cycle_end": "에포크 끝",
    "cycle_mean": "에포크 평균 ({w:.1f}, {b:.1f})",
    "cycle_title": "한 에포크 더: 샘플마다의 (w, b) (학습률 = {lr:g})",
    "after_sample": "{k}번째 샘플 후: {eq}",
    "lines_title": "마지막 {last}개 샘플로 한 번씩 갱신한 뒤의 직선 (점: 그 샘플)",
    "cycle_suptitle": "샘플마다 갱신하는 SGD가 멈추지 않는 이유: 한 번의 갱신은 방금 본 샘플 쪽으로 "
    "직선을 (거의) 끌어당깁니다",
    "cycle_caption": "샘플 i 로 한 번 갱신하면 그 샘플의 오차는 $err_i\\,(1 - lr\\,(1 + x_i^2))$ 가 됩니다: "
    "lr = 1 이고 x 가 작으면 거의 0 이므로, (w, b)는 샘플을 차례로 쫓아가고\n에포크는 마지막 "
    "샘플들이 끌어당긴 곳에서 끝납니다: 매 에포크 같은 점(한계 순환이 닫힘)이지만 최적점은 아닙니다.",
    "line_now": "지금의 직선: {eq}",
    "sample_now": "방금 사용한 샘플",
    "path_steps": "1 에포크의 갱신마다의 (w, b)",
    "anim_start": "시작: w = {w:g}, b = {b:g}",
    "anim_step": "1 에포크, {steps}번 중 {step}번째 갱신: 갱신할 때마다 직선이 그 샘플 쪽으로 끌려갑니다",
    "anim_epoch": "{epochs} 에포크 중 {epoch} 에포크: 에포크가 끝날 때마다의 (w, b)",
    "anim_title": "경사 하강법, {what}",
    "sample_by_sample": "샘플 하나씩",
    "batch_by_batch": "한 번에 샘플 {batch}개씩",
    "explore_settings": "학습률 {lr:.3g}, {epochs} 에포크, 배치 크기 {batch}, {order}",
    "in_order": "샘플 순서대로",
    "shuffled": "섞어서 (시드 {seed})",
    "explore_result": "{settings}:  w = {w:.3f}, b = {b:.3f}, 손실 {loss:,.1f}",
    "explore_diverged": "{settings}:  훈련이 발산했습니다",
    "blowup_caption": "발산: {step}번째 갱신({epoch} 에포크)에서 손실이 처음의 {limit:g}배를 넘었습니다 "
    "(w = {w:.4g}, b = {b:.4g}, 손실 {loss:.4g}).\n책의 반복문을 갱신 한 번 한 번 따라가며 발산한 "
    "곳까지 그렸습니다. 학습률을 줄이면 수렴합니다.",
    "growth_caption": "발산: 훈련이 끝없이 커집니다(tn.fit 은 발산으로 멈춥니다). 책의 반복문을 갱신 한 번 한 번 "
    "따라가며\n처음 {step}번의 갱신을 그렸습니다 (손실 ×{ratio:.3g}, 마지막 w = {w:.4g}, "
    "b = {b:.4g}). 학습률을 줄이면 수렴합니다.",
    "after_step": "{step}번째 갱신 후: {eq}",
    "loss_per_step": "갱신마다의 손실",
    "step": "갱신 횟수",
    "loss_title_steps": "갱신별 손실 (마지막: {loss})",
    "path_each_step": "갱신마다의 (w, b)",
    "blew_up": "발산한 곳 ({w:.3g}, {b:.3g})",
    "last_step": "{step}번째 갱신 후 ({w:.3g}, {b:.3g})",
    "step_1": "첫 갱신",
    "lr_slider": "학습률",
    "epochs_slider": "에포크",
    "batch_slider": "배치 크기",
    "shuffle_box": "섞기",
    "seed_box": "시드",
}

WORDS = {"en": EN, "ko": KO}


def words(lang: str = "en") -> dict[str, str]:
    """The templates for lang ('en' or 'ko')."""
    return WORDS[check_lang(lang)]
