package aws

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

// Options configure the AWS backend type.
type Options struct {
	// Endpoint overrides the AWS API endpoint (an emulator); the SDK's own
	// resolution (AWS_ENDPOINT_URL included) when empty.
	Endpoint string
	// DefaultCredsDisabled refuses `creds: {type: default}`
	// (upstream's DSTACK_DEFAULT_CREDS_DISABLED).
	DefaultCredsDisabled bool
}

// session holds the AWS configuration of one set of credentials and its
// EC2 clients per region.
type session struct {
	cfg aws.Config
	mu  sync.Mutex
	ec2 map[string]*ec2.Client
}

func newSession(ctx context.Context, o Options, c *Creds) (*session, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(mainRegion)}
	if c.Type == "access_key" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, "")))
	}
	if o.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(o.Endpoint))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return &session{cfg: cfg, ec2: map[string]*ec2.Client{}}, nil
}

// EC2 is the EC2 client of a region.
func (s *session) EC2(region string) *ec2.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ec2[region]
	if c == nil {
		c = ec2.NewFromConfig(s.cfg, func(o *ec2.Options) { o.Region = region })
		s.ec2[region] = c
	}
	return c
}

// apiError splits an AWS error into its code and message ("" when it is
// not an API error: a network failure, a timeout).
func apiError(err error) (code, msg string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", ""
}

// reason is an AWS error as operators read it: "Code: message", or the
// error itself when it carries no code.
func reason(err error) string {
	if code, msg := apiError(err); code != "" {
		if msg == "" {
			return code
		}
		return code + ": " + msg
	}
	return err.Error()
}
