import torch

# One thread: two threads on these 2-core machines were measured 5-18x slower under any contention.
torch.set_num_threads(1)
