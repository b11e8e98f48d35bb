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
