#pragma once
// Occupies the default stream for `us` microseconds of GPU time (returns at once on the host).
void gpu_spin(double us);
