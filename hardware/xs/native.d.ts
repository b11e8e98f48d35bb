// XS's bridge from JavaScript to C, declared for TypeScript.
//
// On the device, xsc rewrites `native("xs_f").call(this, ...)` into a direct
// call of the C function xs_f, and `Native("xs_dtor")` into a host base class
// whose instances xs_dtor releases. In the simulator host, the same two
// globals look the C functions up by name at run time (hardware/sim/host/host.c).

declare global {
	/** The host function implemented by the C function `name`. Call it as `native("xs_f").call(this, ...args)`. */
	function native(name: string): (this: unknown, ...args: any[]) => any;
	/** A base class whose instances are host objects released by the C destructor `name`. */
	function Native(destructor: string): { new (): object };
}

export {};
