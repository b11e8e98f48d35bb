// Placeholder while the interpreter is written (issue 5); replaced in the same change.
export default class Interpreter {
	constructor() {
		throw new Error("inference: not built yet");
	}
}
