package config

import "os"

// OSFS answers validation's questions from the real file system and the
// user's home directory ($HOME, as kops expands ~/).
type OSFS struct{}

func (OSFS) IsDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func (OSFS) IsFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func (OSFS) HomeDir() (string, error) { return os.UserHomeDir() }
