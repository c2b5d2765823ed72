/** The nets `bench perf` knows, kept free of tfjs so the command table can name them without loading models. */
export const PERF_NETS = ['ce-dcgan', 'ce-alexnet', 'ce-alexnet-small'] as const;
export type PerfNet = (typeof PERF_NETS)[number];

/** Input side in pixels by default: the paper's 227 for AlexNet, 64 for the DCGAN-style net, CIFAR-10's 32 for the small encoder. */
export const DEFAULT_SIZE: Record<PerfNet, number> = { 'ce-dcgan': 64, 'ce-alexnet': 227, 'ce-alexnet-small': 32 };
