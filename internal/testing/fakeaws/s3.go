package fakeaws

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
)

// s3Object is one object the fake keeps.
type s3Object struct {
	body  []byte
	etag  string // quoted, as S3 sends it
	crc32 string // the checksum it was written with, base64
}

// serveS3 answers S3's object calls on path-style URLs (/bucket/key) as S3
// does for a general purpose bucket, its conditional writes included:
// PutObject with If-None-Match: * fails 412 PreconditionFailed when the key
// exists, with If-Match when the ETag differs (404 NoSuchKey when there is
// no object); DeleteObject with If-Match likewise. Objects are kept, not
// refused: the kops state store of a test is a file:// one, so only the
// program's own S3 client (the cluster's lease) comes here.
func (s *Server) serveS3(w http.ResponseWriter, r *http.Request, body []byte) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	action := map[string]string{http.MethodPut: "PutObject", http.MethodGet: "GetObject", http.MethodHead: "HeadObject", http.MethodDelete: "DeleteObject"}[r.Method]
	s.record(Call{Service: "s3", Action: action, Params: map[string][]string{"bucket": {bucket}, "key": {key}}})
	if bucket == "" || key == "" || action == "" {
		s3Error(w, http.StatusNotImplemented, "NotImplemented", "fakeaws: S3 "+r.Method+" "+r.URL.Path+" is not served")
		return
	}
	id := bucket + "/" + key
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.objects == nil {
		s.objects = map[string]s3Object{}
	}
	cur, exists := s.objects[id]
	ifMatch, ifNoneMatch := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	switch {
	case action != "GetObject" && action != "HeadObject" && ifMatch != "" && !exists:
		s3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	case action != "GetObject" && action != "HeadObject" && ifMatch != "" && ifMatch != cur.etag:
		s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		return
	case action == "PutObject" && ifNoneMatch == "*" && exists:
		s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		return
	}
	switch action {
	case "PutObject":
		data, crc, err := s3Payload(r, body)
		if err != nil {
			s3Error(w, http.StatusBadRequest, "InvalidRequest", err.Error())
			return
		}
		sum := md5.Sum(data)
		obj := s3Object{body: data, etag: `"` + hex.EncodeToString(sum[:]) + `"`, crc32: crc}
		s.objects[id] = obj
		w.Header().Set("ETag", obj.etag)
		w.WriteHeader(http.StatusOK)
	case "GetObject", "HeadObject":
		if !exists {
			s3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		w.Header().Set("ETag", cur.etag)
		if cur.crc32 != "" && strings.EqualFold(r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
			w.Header().Set("X-Amz-Checksum-Crc32", cur.crc32)
			w.Header().Set("X-Amz-Checksum-Type", "FULL_OBJECT")
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(cur.body)))
		w.WriteHeader(http.StatusOK)
		if action == "GetObject" {
			w.Write(cur.body)
		}
	case "DeleteObject":
		delete(s.objects, id)
		w.WriteHeader(http.StatusNoContent)
	}
}

// S3Object is the content of an object the fake keeps; ok is false when
// there is none.
func (s *Server) S3Object(bucket, key string) (body []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[bucket+"/"+key]
	return o.body, ok
}

// s3Payload is a PutObject's content, held to the CRC32 the SDK sends
// with it (S3 refuses a mismatch with 400 BadDigest). A streamed
// (aws-chunked) body is not served: the SDK sends a seekable body whole.
func s3Payload(r *http.Request, body []byte) (data []byte, crc string, err error) {
	if strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		return nil, "", errors.New("fakeaws: aws-chunked uploads are not served")
	}
	crc = r.Header.Get("X-Amz-Checksum-Crc32")
	if crc != "" {
		sum := make([]byte, 4)
		binary.BigEndian.PutUint32(sum, crc32.ChecksumIEEE(body))
		if base64.StdEncoding.EncodeToString(sum) != crc {
			return nil, "", errors.New("BadDigest: the CRC32 you specified did not match the calculated checksum")
		}
	}
	return body, crc, nil
}

// s3Error writes an error as S3 does: a REST-XML <Error> document.
func s3Error(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Error><Code>%s</Code><Message>%s</Message><RequestId>fakeaws</RequestId></Error>", code, escape(message))
}
