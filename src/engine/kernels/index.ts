/** Registers the gradient kernels tfjs-backend-wasm 4.22 lacks or runs slowly. */
export function registerWasmGradientKernels(): void {
  // Filled in by the kernels module.
}
