package fork

import "sync"

// hookSet is one AtFork registration.
type hookSet struct{ prepare, parent, child func() }

var hooks struct {
	mu   sync.Mutex
	list []hookSet
}

// AtFork registers functions that run around every child process this
// package starts (by Start or by an Upgrader's Upgrade), with the ordering rules of pthread_atfork(3):
//
//   - prepare runs in the parent before the child is started, in reverse
//     order of registration (the last registered runs first);
//   - parent runs in the parent after the start, in order of registration,
//     whether or not the start succeeded, so it can undo what prepare did;
//   - child runs in the child, in order of registration, when the child
//     calls Init. The child is a new program image: its hooks are the ones
//     its own code registered (typically from init functions) before Init.
//
// Unlike C, Go cannot run code between fork and exec: the runtime's child
// side of fork/exec may not allocate, lock or schedule, so no Go function
// runs there, and after exec the parent's memory is gone anyway. This is
// the same limit Python documents for os.register_at_fork with
// subprocess. The child hook therefore runs after exec, at Init, which is
// the first moment the new program can act on having been started by this
// package (IsChild reports true then).
//
// Any of the three may be nil. Hooks run without any lock of this package
// held; concurrent Starts run their hooks concurrently. A panicking hook
// propagates to the caller of Start (or Init). AtFork is safe for
// concurrent use.
func AtFork(prepare, parent, child func()) {
	hooks.mu.Lock()
	hooks.list = append(hooks.list, hookSet{prepare, parent, child})
	hooks.mu.Unlock()
}

func hookSnapshot() []hookSet {
	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	return hooks.list[:len(hooks.list):len(hooks.list)]
}

func runPrepare(hs []hookSet) {
	for i := len(hs) - 1; i >= 0; i-- {
		if f := hs[i].prepare; f != nil {
			f()
		}
	}
}

func runParent(hs []hookSet) {
	for _, h := range hs {
		if h.parent != nil {
			h.parent()
		}
	}
}

func runChild(hs []hookSet) {
	for _, h := range hs {
		if h.child != nil {
			h.child()
		}
	}
}
