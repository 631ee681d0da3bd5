package store

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configure a Redis store.
type RedisOptions struct {
	Options
	URL       string // redis://, rediss:// or unix://
	Password  string // optional; replaces the URL's
	KeyPrefix string // prepended to every key
	// TLSConfig is the base of rediss:// connections (roots, client
	// certificates); nil means the system's roots.
	TLSConfig *tls.Config
}

// How the follower paces itself: it waits for new marks up to
// followBlock at a time, then checks that Redis still holds its data.
const (
	followBlock = 500 * time.Millisecond
	pageSize    = 5000
	maxBackoff  = time.Second
	// futureSlack is how far in the future a mark may be dated (clock skew
	// between replicas); a later one is refused rather than kept.
	futureSlack = 5 * time.Minute
)

// Redis shares marks and reservations between replicas through Redis.
//
// Marks are entries of one Redis stream, trimmed to the marks not yet
// expired: a replica loads the stream at start and then reads it from the
// last entry it has seen, so it misses nothing while it is disconnected.
// Every replica keeps every mark in memory, and writes them all back when
// Redis comes back empty (detected by a random epoch value that Redis
// holds and loses with the rest of its data).
type Redis struct {
	o                         RedisOptions
	client                    *redis.Client
	stream, epochKey, resKeys string
	marks                     *markSet
	local                     reservations
	ready                     atomic.Bool
	following                 atomic.Bool // Start was called
	commands                  atomic.Uint64

	mu      sync.Mutex
	health  Health
	pending []entry // marks written here that have not reached Redis

	// Owned by the follower.
	epoch, lastID string

	cancel context.CancelFunc
	done   chan struct{}
}

var errNotConnected = errors.New("not connected yet")

// NewRedis returns a store on the Redis at o.URL. It connects only when
// used: Start follows the marks; Revoke and Reserve work without it.
func NewRedis(o RedisOptions) (*Redis, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	ro, err := clientOptions(o)
	if err != nil {
		return nil, err
	}
	marks, err := newMarkSet(o.CookieKeys)
	if err != nil {
		return nil, err
	}
	s := &Redis{
		o:        o,
		client:   redis.NewClient(ro),
		stream:   o.KeyPrefix + "marks",
		epochKey: o.KeyPrefix + "epoch",
		resKeys:  o.KeyPrefix + "reserved:",
		marks:    marks,
		health:   Health{Since: o.now(), Err: errNotConnected},
	}
	s.client.AddHook(commandCounter{&s.commands})
	return s, nil
}

// Commands returns how many commands this store has sent to Redis (a
// pipeline counts each of its commands): what shows that answering
// Revoked costs no round trip.
func (s *Redis) Commands() uint64 { return s.commands.Load() }

// commandCounter counts the commands a client sends.
type commandCounter struct{ n *atomic.Uint64 }

func (c commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(uint64(len(cmds)))
		return next(ctx, cmds)
	}
}

// Start loads every current mark and then follows new ones until Close.
// Ready turns nil once the marks are loaded.
func (s *Redis) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done = make(chan struct{})
	s.following.Store(true)
	go s.follow(ctx)
}

// Close stops following and closes the connections. Closing them first
// ends a read that waits for new marks at once.
func (s *Redis) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	err := s.client.Close()
	if s.done != nil {
		<-s.done
	}
	return err
}

func (s *Redis) Ready() error {
	if s.ready.Load() {
		return nil
	}
	h := s.Health()
	if h.Err != nil {
		return fmt.Errorf("store: marks not loaded: %w", h.Err)
	}
	return errors.New("store: loading marks")
}

func (s *Redis) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.health
}

func (s *Redis) Marks() int { return s.marks.len() }

func (s *Redis) Revoked(id Identity) bool { return s.marks.revoked(id, s.o.now()) }

// Revoke applies m here, then adds it to the stream. If Redis cannot be
// reached, m is kept to be written when it is back.
func (s *Redis) Revoke(ctx context.Context, m Mark) error {
	now := s.o.now()
	e, err := s.marks.makeEntry(m, s.o.Lifetime, now)
	if err != nil {
		return err
	}
	s.marks.add(e)
	if err := s.add(ctx, e); err != nil {
		s.mu.Lock()
		s.pending = append(s.pending, e)
		s.mu.Unlock()
		s.failed("revoke", err)
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// add appends e to the stream and trims the entries that have expired.
func (s *Redis) add(ctx context.Context, e entry) error {
	if err := s.knownDown(); err != nil {
		return err
	}
	return s.client.XAdd(ctx, s.addArgs(e)).Err()
}

// knownDown returns why Redis is down when the follower, which tries it
// all the time, says it is: a sign-in or a sign-out then goes on at once
// instead of waiting for a connection to time out.
func (s *Redis) knownDown() error {
	if !s.following.Load() {
		return nil
	}
	h := s.Health()
	if h.Up || errors.Is(h.Err, errNotConnected) {
		return nil
	}
	return fmt.Errorf("down since %s: %w", h.Since.UTC().Format(time.RFC3339), h.Err)
}

func (s *Redis) addArgs(e entry) *redis.XAddArgs {
	// Stream ids are Redis's clock in milliseconds; a minute's slack
	// absorbs the difference with ours.
	oldest := s.o.now().Add(-s.o.Lifetime - time.Minute).UnixMilli()
	return &redis.XAddArgs{
		Stream: s.stream,
		MinID:  strconv.FormatInt(max(oldest, 0), 10),
		Approx: true,
		Values: e.values(),
	}
}

func (s *Redis) Reserve(ctx context.Context, key string, ttl time.Duration) error {
	id := reservationID(key)
	now := s.o.now().UnixMilli()
	if !s.local.reserve(id, now, now+ttlMillis(ttl)) {
		return ErrTaken
	}
	if err := s.knownDown(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	ok, err := s.client.SetNX(ctx, s.resKeys+hex.EncodeToString(id[:]), "1", time.Duration(ttlMillis(ttl))*time.Millisecond).Result()
	if err != nil {
		s.failed("reserve", err)
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !ok {
		s.local.release(id)
		return ErrTaken
	}
	return nil
}

func (s *Redis) Release(ctx context.Context, key string) {
	id := reservationID(key)
	s.local.release(id)
	if s.knownDown() != nil {
		return // the key expires with its TTL
	}
	if err := s.client.Del(ctx, s.resKeys+hex.EncodeToString(id[:])).Err(); err != nil {
		// The key expires with its TTL.
		s.failed("release", err)
	}
}

// Version returns the Redis server's version, connecting if need be.
func (s *Redis) Version(ctx context.Context) (string, error) {
	info, err := s.client.Info(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v, nil
		}
	}
	return "", errors.New("store: the server did not say its redis_version")
}

func (s *Redis) failed(op string, err error) {
	if s.o.Hooks.Error != nil {
		s.o.Hooks.Error(op, err)
	}
}

// setHealth records whether Redis answers and calls Changed on a change.
func (s *Redis) setHealth(err error) {
	s.mu.Lock()
	up := err == nil
	changed := s.health.Up != up
	if changed {
		s.health = Health{Up: up, Since: s.o.now(), Err: err}
	}
	h := s.health
	s.mu.Unlock()
	if changed && s.o.Hooks.Changed != nil {
		s.o.Hooks.Changed(h)
	}
}

// follow keeps this replica's marks in step with Redis until ctx ends.
func (s *Redis) follow(ctx context.Context) {
	defer close(s.done)
	backoff := 50 * time.Millisecond
	for {
		err := s.sync(ctx, func() { backoff = 50 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		s.setHealth(err)
		s.failed("follow", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// sync brings this replica and Redis in step, then reads new marks as
// they come. It returns only with an error.
func (s *Redis) sync(ctx context.Context, connected func()) error {
	for first := true; ; first = false {
		if err := s.checkEpoch(ctx); err != nil {
			return err
		}
		if first {
			if err := s.checkBehind(ctx); err != nil {
				return err
			}
		}
		s.setHealth(nil)
		connected()
		streams, err := s.client.XRead(ctx, &redis.XReadArgs{
			Streams: []string{s.stream, s.lastID},
			Count:   pageSize,
			Block:   followBlock,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for _, st := range streams {
			s.apply(st.Messages, true)
		}
		s.marks.sweepSometimes(s.o.now())
	}
}

// checkEpoch finds out whether Redis still holds what this replica
// last read from it. When it does, marks written here during an outage
// are sent; when it does not (a first start, or Redis restarted empty),
// every mark this replica knows is written back and the stream is read
// again from its start.
func (s *Redis) checkEpoch(ctx context.Context) error {
	cur, err := s.client.Get(ctx, s.epochKey).Result()
	if errors.Is(err, redis.Nil) {
		fresh := make([]byte, 16)
		rand.Read(fresh)
		if _, err := s.client.SetNX(ctx, s.epochKey, hex.EncodeToString(fresh), 0).Result(); err != nil {
			return err
		}
		cur, err = s.client.Get(ctx, s.epochKey).Result()
	}
	if err != nil {
		return err
	}
	if cur == s.epoch {
		return s.flushPending(ctx)
	}
	s.mu.Lock()
	s.pending = nil // every mark is written back below
	s.mu.Unlock()
	if err := s.writeBack(ctx); err != nil {
		return err
	}
	if err := s.load(ctx); err != nil {
		return err
	}
	s.epoch = cur
	s.ready.Store(true)
	return nil
}

// checkBehind, after each (re)connection, finds out whether Redis came
// back from a snapshot older than what this replica has read (the epoch
// survives, the last marks do not), and then writes back every mark this
// replica holds.
func (s *Redis) checkBehind(ctx context.Context) error {
	if s.lastID == "0-0" {
		return nil
	}
	last, err := s.client.XRevRangeN(ctx, s.stream, "+", "-", 1).Result()
	if err != nil {
		return err
	}
	// Trimming happens only when a mark is added, so the stream is never
	// emptied by it.
	if len(last) == 1 && !streamIDLess(last[0].ID, s.lastID) {
		return nil
	}
	return s.writeBack(ctx)
}

// streamIDLess compares stream ids "ms-seq".
func streamIDLess(a, b string) bool {
	parse := func(id string) (uint64, uint64) {
		ms, seq, _ := strings.Cut(id, "-")
		m, _ := strconv.ParseUint(ms, 10, 64)
		q, _ := strconv.ParseUint(seq, 10, 64)
		return m, q
	}
	am, aq := parse(a)
	bm, bq := parse(b)
	return am < bm || am == bm && aq < bq
}

// flushPending writes the marks that could not be written when they were
// made.
func (s *Redis) flushPending(ctx context.Context) error {
	s.mu.Lock()
	todo := s.pending
	s.pending = nil
	s.mu.Unlock()
	for i, e := range todo {
		if err := s.add(ctx, e); err != nil {
			s.mu.Lock()
			s.pending = append(todo[i:], s.pending...)
			s.mu.Unlock()
			return err
		}
	}
	return nil
}

// writeBack writes every mark this replica holds to the stream.
func (s *Redis) writeBack(ctx context.Context) error {
	all := s.marks.entries(s.o.now())
	for len(all) > 0 {
		n := min(len(all), 1000)
		p := s.client.Pipeline()
		for _, e := range all[:n] {
			e.written = s.o.now().UnixMilli()
			p.XAdd(ctx, s.addArgs(e))
		}
		if _, err := p.Exec(ctx); err != nil {
			return err
		}
		all = all[n:]
	}
	return nil
}

// load reads the whole stream, page by page.
func (s *Redis) load(ctx context.Context) error {
	start := "-"
	s.lastID = "0-0"
	for {
		msgs, err := s.client.XRangeN(ctx, s.stream, start, "+", pageSize).Result()
		if err != nil {
			return err
		}
		s.apply(msgs, s.ready.Load())
		if len(msgs) < pageSize {
			return nil
		}
		start = "(" + s.lastID
	}
}

// apply keeps the marks of msgs; learned says whether they are new to
// this replica, to be counted as propagated.
func (s *Redis) apply(msgs []redis.XMessage, learned bool) {
	now := s.o.now()
	for _, msg := range msgs {
		s.lastID = msg.ID
		e, err := parseEntry(msg.Values)
		if err == nil && e.at > now.Add(futureSlack).UnixMilli() {
			err = fmt.Errorf("dated %s, in the future", time.UnixMilli(e.at).UTC().Format(time.RFC3339))
		}
		if err != nil {
			s.failed("follow", fmt.Errorf("store: entry %s of %s: %w", msg.ID, s.stream, err))
			continue
		}
		if e.exp <= now.UnixMilli() {
			continue
		}
		if s.marks.add(e) && learned && s.o.Hooks.Learned != nil {
			s.o.Hooks.Learned(now.Sub(time.UnixMilli(e.written)))
		}
	}
}
