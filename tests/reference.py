"""The book's reference numbers, in one place (float64, x = bmi, y = target, w = b = 1, lr = 1).

They come from the plain-Python loop of the source text (torch_neuron/book.py: no torch, no engine),
not from the engines; tests/test_reference.py recomputes each of them from that loop and from scikit-learn.
"""

W_1, B_1 = 587.8654539985616, 99.4093556453094  # after one epoch
W_100, B_100 = 913.5973364346786, 123.39414383177173  # after 100 epochs
PREDICT_018 = 287.8416643900139  # W_100 * 0.18 + B_100
