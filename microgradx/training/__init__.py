"""Training (layer 4, above the compiler): steps, epochs, their history and progress bar.

Read in this order: steps.py (train_step and fit's steps, each one compiled call),
epochs.py (fit's epochs of shuffled mini-batches, the validation set, History) and
progress.py (the bar on stderr).
"""
