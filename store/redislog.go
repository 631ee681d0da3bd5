package store

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// LogRedisClientTo sends the Redis client's own messages (a connection
// pool that cannot dial, say) to log at debug level, as structured lines,
// instead of the client's plain lines on stderr. The client has one
// logger per process: call this once, from main. The store reports what
// matters through its hooks.
func LogRedisClientTo(log *slog.Logger) { redis.SetLogger(clientLog{log}) }

type clientLog struct{ log *slog.Logger }

func (l clientLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client", "message", fmt.Sprintf(format, v...))
}
