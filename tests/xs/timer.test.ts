import { test, equal, ok } from "tests/harness";
import Timer from "timer";

test("timers fire in deadline order and clear() stops them", async () => {
	const order: string[] = [];
	await new Promise<void>((resolve) => {
		Timer.set(() => order.push("b"), 30);
		Timer.set(() => order.push("a"), 10);
		const cleared = Timer.set(() => order.push("never"), 20);
		Timer.clear(cleared);
		Timer.set(() => resolve(), 60);
	});
	equal(order.join(","), "a,b", "order");
});

test("a repeating timer repeats until cleared from its own callback", async () => {
	let count = 0;
	await new Promise<void>((resolve) => {
		Timer.repeat((timer) => {
			count++;
			if (count === 3) {
				Timer.clear(timer);
				Timer.set(() => resolve(), 40);
			}
		}, 5);
	});
	equal(count, 3, "fired three times, then stopped");
});

test("a one-shot timer can be rescheduled", async () => {
	let fired = 0;
	await new Promise<void>((resolve) => {
		const timer = Timer.set(() => {
			fired++;
			if (fired === 1)
				Timer.schedule(timer, 5);
			else
				resolve();
		}, 5);
	});
	ok(fired === 2, "fired twice");
});
