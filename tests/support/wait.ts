/** Polls `check` until it returns a value; rejects after `timeoutMs`, naming `what`. */
export function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 30000): Promise<T> {
	return new Promise((resolve, reject) => {
		const started = Date.now();
		const poll = setInterval(() => {
			const value = check();
			if (value !== undefined) {
				clearInterval(poll);
				resolve(value);
			}
			else if (Date.now() - started > timeoutMs) {
				clearInterval(poll);
				reject(new Error(`timed out waiting for ${what}`));
			}
		}, 20);
	});
}

/**
 * Presses the button for ring number `ring` (1, 2, ...) of a test and waits
 * until the device has taken it (its burst started), then a little past the
 * ring debounce. The debounce is measured when the firmware handles a press,
 * so presses sent on a wall-clock rhythm can reach it back to back after an
 * inference on a loaded machine and count as one ring.
 */
export async function ringOnce(device: { press(): void }, statuses: readonly { state: string }[], ring: number): Promise<void> {
	device.press();
	await waitFor(`ring ${ring} to start a burst`, () => (statuses.filter((status) => status.state === "capturing").length >= ring) ? true : undefined);
	await new Promise((resolve) => setTimeout(resolve, 600));
}
