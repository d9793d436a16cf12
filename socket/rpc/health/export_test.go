package health

// WatcherCount exposes the number of open watches to the tests.
func (s *Server) WatcherCount() int { return s.watcherCount() }
