package observer

import (
	"testing"
	"time"
)

// FuzzSubject runs a sequence of operations decoded from the input on one
// goroutine against a model: synchronous observers must receive exactly the
// values notified while they were subscribed, and asynchronous ones an
// ordered subset that, with what they dropped, accounts for every value.
func FuzzSubject(f *testing.F) {
	f.Add([]byte{0, 3, 1, 1, 3, 2, 0, 3, 4})
	f.Add([]byte{1, 0, 1, 1, 2, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 5, 3, 3})
	f.Add([]byte{5, 0, 3, 3, 2, 1, 3, 1, 3, 4, 3, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 256 {
			ops = ops[:256]
		}
		type observed struct {
			sub      *Subscription
			async    bool
			policy   Policy
			selfStop bool // unsubscribes itself on a multiple of 5
			got      *recorder[int]
			want     []int // sync: exact; async: everything sent while active
			active   bool
			unsubbed bool
		}
		var s Subject[int]
		var obs []*observed
		closed := false
		next := 0
		arg := func(i *int) byte {
			*i++
			if *i < len(ops) {
				return ops[*i]
			}
			return 0
		}
		for i := 0; i < len(ops); i++ {
			switch ops[i] % 6 {
			case 0, 5: // synchronous, possibly unsubscribing itself
				o := &observed{got: new(recorder[int]), active: !closed, selfStop: ops[i]%6 == 5}
				o.sub = s.Subscribe(func(v int) {
					o.got.add(v)
					if o.selfStop && v%5 == 0 {
						o.sub.Unsubscribe()
					}
				})
				obs = append(obs, o)
			case 1:
				p := Policy(arg(&i) % 4)
				buffer := int(arg(&i)%4) + 1
				o := &observed{got: new(recorder[int]), active: !closed, async: true, policy: p}
				o.sub = s.Subscribe(o.got.add, Async(buffer, p))
				obs = append(obs, o)
			case 2:
				if len(obs) > 0 {
					o := obs[int(arg(&i))%len(obs)]
					o.sub.Unsubscribe()
					// Even after Close, Unsubscribe discards what an Async
					// queue had left to drain.
					o.unsubbed = o.unsubbed || o.active || o.async
					o.active = false
				}
			case 3:
				v := next
				next++
				s.Notify(v)
				for _, o := range obs {
					if o.active {
						o.want = append(o.want, v)
						if o.selfStop && v%5 == 0 {
							o.active = false
						}
					}
				}
			case 4:
				s.Close()
				closed = true
				for _, o := range obs {
					o.active = false
				}
			}
		}
		s.Close()
		for i, o := range obs {
			select {
			case <-o.sub.Done():
			case <-time.After(patience(t)):
				t.Fatalf("observer %d: Done not closed after Close", i)
			}
			got := o.got.get()
			if !o.async {
				if !equal(got, o.want) {
					t.Fatalf("sync observer %d got %v, want %v", i, got, o.want)
				}
				continue
			}
			checkAsync(t, i, o.policy, got, o.want, o.sub.Dropped(), o.unsubbed)
		}
	})
}

// checkAsync checks what an Async observer got against what was sent to it.
func checkAsync(t *testing.T, i int, p Policy, got, sent []int, dropped uint64, unsubscribed bool) {
	t.Helper()
	// got must be a subsequence of sent.
	j := 0
	for _, v := range got {
		for j < len(sent) && sent[j] != v {
			j++
		}
		if j == len(sent) {
			t.Fatalf("async %v observer %d got %v, not a subsequence of %v", p, i, got, sent)
		}
		j++
	}
	if unsubscribed {
		return // the queue was discarded: any ordered subset will do
	}
	if uint64(len(got))+dropped != uint64(len(sent)) {
		t.Fatalf("async %v observer %d: got %d + dropped %d != sent %d", p, i, len(got), dropped, len(sent))
	}
	if p == Block && dropped != 0 {
		t.Fatalf("Block observer %d dropped %d", i, dropped)
	}
	if (p == Latest || p == DropOldest) && len(sent) > 0 && got[len(got)-1] != sent[len(sent)-1] {
		t.Fatalf("async %v observer %d got %v, missing the last value %d", p, i, got, sent[len(sent)-1])
	}
}

// FuzzValue checks, on one goroutine, that each observer of a Value first
// gets the current value and then exactly every change.
func FuzzValue(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 1, 1, 0, 3, 2})
	f.Add([]byte{1, 5, 0, 1, 5, 2, 0, 1, 6})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 256 {
			ops = ops[:256]
		}
		var v Value[byte]
		type observed struct {
			got  *recorder[byte]
			want []byte
		}
		var obs []*observed
		cur := byte(0)
		change := func(x byte) {
			if x == cur {
				return
			}
			cur = x
			for _, o := range obs {
				o.want = append(o.want, x)
			}
		}
		for i := 0; i < len(ops); i++ {
			var b byte
			if i+1 < len(ops) {
				b = ops[i+1]
			}
			switch ops[i] % 3 {
			case 0:
				o := &observed{got: new(recorder[byte]), want: []byte{cur}}
				obs = append(obs, o)
				v.Subscribe(o.got.add)
			case 1:
				v.Set(b % 8)
				change(b % 8)
				i++
			case 2:
				d := b % 3
				if got := v.Update(func(x byte) byte { return x + d }); got != cur+d {
					t.Fatalf("Update returned %d, want %d", got, cur+d)
				}
				change(cur + d)
				i++
			}
			if v.Get() != cur {
				t.Fatalf("Get = %d, want %d", v.Get(), cur)
			}
		}
		for i, o := range obs {
			if got := o.got.get(); !equal(got, o.want) {
				t.Fatalf("observer %d got %v, want %v", i, got, o.want)
			}
		}
	})
}
